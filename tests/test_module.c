/* Modules: tracing methods, children and calls, running, lowering to a backend (default
   delegation, a backend's own delegate members, selective lowering, unavailability), the
   preprocess registry, debug handles with the module hierarchy, and tracing misuse.
   Values are checked against float64 loops. */
#include "common.h"

/* Whether a serialised node's op (element 1: a name) is op. */
static bool is_op(const lbk_value *v, const char *op) { const char *s = lbk_value_as_str(v); return s && strcmp(s, op) == 0; }

static const double W[6] = {0.5, -1.0, 2.0, 0.25, -0.75, 1.5};   /* [2,3] */
static const double B[3] = {0.1, -0.2, 0.3};

/* Encoder.forward(x[4,2]) = x @ w + b (w, b weights of the module) */
static lbk_module *make_encoder_as(lbk_ctx *ctx, const char *type) {
    lbk_module *e = lbk_module_create(ctx, type);
    int64_t xd[2] = {4, 2}, wd[2] = {2, 3}, bd = 3;
    const int64_t *dims[1] = {xd};
    int nd[1] = {2};
    lbk_dtype dt[1] = {LBK_F32};
    lbk_tensor x;
    lbk_tensor w = tfrom(ctx, LBK_F32, 2, wd, W), b = tfrom(ctx, LBK_F32, 1, &bd, B);
    assert_non_null(e);
    assert_int_equal(lbk_method_begin(e, "forward", 1, dt, nd, dims, &x), LBK_OK);
    lbk_tensor y = lbk_add(ctx, lbk_matmul(ctx, x, w), b);
    assert_int_equal(lbk_method_end(e, &y, 1), LBK_OK);
    return e;
}
static lbk_module *make_encoder(lbk_ctx *ctx) { return make_encoder_as(ctx, "Encoder"); }
/* Model.forward(x[4,2]) = (relu(encoder(x)) * 2, sum over rows of it) */
static lbk_module *make_model(lbk_ctx *ctx) {
    lbk_module *m = lbk_module_create(ctx, "Model"), *e = make_encoder(ctx);
    int64_t xd[2] = {4, 2};
    const int64_t *dims[1] = {xd};
    int nd[1] = {2}, ax = 0;
    lbk_dtype dt[1] = {LBK_F32};
    lbk_tensor x, h, y[2];
    assert_int_equal(lbk_module_add_child(m, "encoder", e), LBK_OK);
    assert_int_equal(lbk_method_begin(m, "forward", 1, dt, nd, dims, &x), LBK_OK);
    assert_int_equal(lbk_module_call(e, "forward", &x, 1, &h, 1), LBK_OK);
    y[0] = lbk_mul(ctx, lbk_relu(ctx, h), lbk_scalar(ctx, LBK_F32, 2));
    y[1] = lbk_sum(ctx, y[0], 1, &ax, false);
    assert_int_equal(lbk_method_end(m, y, 2), LBK_OK);
    return m;
}
static void want_model(const double *x, double *y0, double *y1) {
    for (int j = 0; j < 3; j++) y1[j] = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) {
            double v = B[j];
            for (int k = 0; k < 2; k++) v += x[i * 2 + k] * W[k * 3 + j];
            v = (v > 0 ? v : 0) * 2;
            y0[i * 3 + j] = v;
            y1[j] += v;
        }
}
static void check_run(lbk_ctx *ctx, lbk_module *m, double seed) {
    double x[8], y0[12], y1[3], got0[12], got1[3];
    int64_t xd[2] = {4, 2};
    for (int i = 0; i < 8; i++) x[i] = sin(seed + i) * 2;
    lbk_tensor in = tfrom(ctx, LBK_F32, 2, xd, x), out[2];
    for (int i = 0; i < 8; i++) x[i] = (float)x[i];
    assert_int_equal(lbk_module_run(m, "forward", &in, 1, out, 2), LBK_OK);
    assert_int_equal(lbk_sync(ctx, out, 2), LBK_OK);   /* both outputs: the graph the method is */
    tread(ctx, out[0], got0);
    tread(ctx, out[1], got1);
    want_model(x, y0, y1);
    tclose(got0, y0, 12, 1e-6, "Model.forward output 0");
    tclose(got1, y1, 3, 1e-6, "Model.forward output 1");
}

/* A backend named name that is the cpu backend with the given delegate members (NULL:
   the default delegation) and availability. */
static bool never(void *self);
static void reg_cpu_like(const char *name, lbk_result (*comp)(void *, const lbk_value *, const lbk_value *, lbk_value **),
                         lbk_result (*exec)(void *, lbk_ctx *, const lbk_value *, const lbk_value *, lbk_value **),
                         void (*freeh)(void *, lbk_value *), bool available) {
    void *cself;
    lbk_backend_i b = *lbk_backend_get("cpu", &cself);
    b.name = name;
    b.delegate_compile = comp;
    b.delegate_execute = exec;
    b.delegate_free = freeh;
    if (!available) b.is_available = never;
    assert_int_equal(lbk_backend_register(&b, cself), LBK_OK);
}
/* {"forward": {}} */
static lbk_value *fwd_spec(void) {
    lbk_value *spec = lbk_value_dict();
    assert_int_equal(lbk_dict_set(spec, "forward", lbk_value_dict()), LBK_OK);
    return spec;
}

static void test_trace_and_run(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    lbk_module *m = make_model(ctx);
    assert_true(lbk_module_has_method(m, "forward"));
    assert_ptr_equal(lbk_module_child(m, "encoder"), lbk_module_child(m, "encoder"));
    assert_string_equal(lbk_module_type(lbk_module_child(m, "encoder")), "Encoder");
    for (int r = 0; r < 3; r++) check_run(ctx, m, r);   /* replays, and the compile cache serves the later ones */
    assert_true(lbk_counter(ctx, "cache_hit") >= 2);
    /* the child runs alone too, and eagerly through lbk_module_call */
    int64_t xd[2] = {4, 2};
    double x[8] = {1, 2, 3, 4, -1, -2, 0.5, 0}, got[12];
    lbk_tensor in = tfrom(ctx, LBK_F32, 2, xd, x), h;
    assert_int_equal(lbk_module_call(lbk_module_child(m, "encoder"), "forward", &in, 1, &h, 1), LBK_OK);
    tread(ctx, h, got);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            assert_true(fabs(got[i * 3 + j] - (B[j] + x[i * 2] * W[j] + x[i * 2 + 1] * W[3 + j])) < 1e-6);
    /* a wrong input is refused with the method's signature, and the module still runs */
    int64_t bad[2] = {3, 2};
    lbk_tensor wrong = tfrom(ctx, LBK_F32, 2, bad, x), o2[2];
    assert_int_equal(lbk_module_run(m, "forward", &wrong, 1, o2, 2), LBK_ERR_SHAPE);
    assert_contains(lbk_ctx_error(ctx), "input 0 of Model.forward is f32[3,2]; the method was traced with f32[4,2]");
    assert_int_equal(lbk_module_run(m, "backward", &in, 1, o2, 2), LBK_ERR_NOT_FOUND);
    lbk_ctx_clear_error(ctx);
    check_run(ctx, m, 9);
    lbk_module_destroy(m);
    assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
    lbk_ctx_destroy(ctx);
}

/* Lowered to the same backend (replayed in the caller's context) and to another one (its
   own context, data through the host); the original stays usable. */
static void test_to_backend_default(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    lbk_module *m = make_model(ctx);
    lbk_value *spec = fwd_spec();
    const char *targets[2] = {"cpu", "cpu-reference"};
    for (int k = 0; k < 2; k++) {
        lbk_module *low = lbk_to_backend(m, targets[k], spec);
        assert_non_null(low);
        assert_string_equal(lbk_module_backend(low), targets[k]);
        int64_t compiles = lbk_counter(ctx, "compile");
        check_run(ctx, low, k + 1);
        if (k == 0) assert_int_equal(lbk_counter(ctx, "compile"), compiles);   /* compiled by lbk_to_backend, ahead of time */
        check_run(ctx, m, k + 2);
        lbk_module_destroy(low);
    }
    /* spec naming an unknown method, an unknown backend */
    lbk_value *bad = lbk_value_dict();
    assert_int_equal(lbk_dict_set(bad, "backward", lbk_value_dict()), LBK_OK);
    assert_null(lbk_to_backend(m, "cpu", bad));
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_NOT_FOUND);
    assert_contains(lbk_ctx_error(ctx), "Model has no method 'backward'");
    lbk_ctx_clear_error(ctx);
    assert_null(lbk_to_backend(m, "no-such-backend", spec));
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_NOT_FOUND);
    lbk_ctx_clear_error(ctx);
    lbk_value_free(bad);
    lbk_value_free(spec);
    check_run(ctx, m, 7);
    lbk_module_destroy(m);
    lbk_ctx_destroy(ctx);
}

/* Selective lowering: the encoder alone is lowered and put back; the parent still runs. */
static void test_selective_lowering(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    lbk_module *m = make_model(ctx);
    lbk_value *spec = fwd_spec();
    lbk_module *low = lbk_to_backend(lbk_module_child(m, "encoder"), "cpu-reference", spec);
    assert_non_null(low);
    assert_int_equal(lbk_module_replace_child(m, "encoder", low), LBK_OK);
    assert_string_equal(lbk_module_backend(lbk_module_child(m, "encoder")), "cpu-reference");
    check_run(ctx, m, 3);
    /* a lowered child on another context cannot be inlined into the parent's blob */
    assert_int_equal(lbk_module_save(m, "build/test_module_sel.lbkm"), LBK_ERR_UNSUPPORTED);
    assert_contains(lbk_ctx_error(ctx), "the child Encoder is lowered to 'cpu-reference' and cannot be inlined");
    lbk_ctx_clear_error(ctx);
    check_run(ctx, m, 4);
    lbk_value_free(spec);
    lbk_module_destroy(m);
    assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
    lbk_ctx_destroy(ctx);
}

/* A backend with its own delegate members: it runs Encoder.forward itself, or fails at a
   node, or returns the wrong number of outputs. */
static int g_del_mode;
static lbk_result del_compile(void *self, const lbk_value *processed, const lbk_value *spec, lbk_value **out) {
    (void)self; (void)spec;
    const lbk_value *fwd = lbk_dict_get(processed, "forward");
    if (!fwd) return lbk_backend_error(LBK_ERR_BACKEND, -1, "no forward in the blob");
    lbk_value *h = lbk_value_dict(), *info = lbk_value_list();
    const lbk_value *nodes = lbk_dict_get(fwd, "nodes");
    for (int64_t i = 0; i < lbk_list_len(nodes); i++) {   /* keep the matmul's debug handle */
        const lbk_value *nd = lbk_list_get(nodes, i);
        if (is_op(lbk_list_get(nd, 1), "matmul")) lbk_list_push(info, lbk_value_int(lbk_value_as_int(lbk_list_get(nd, 6))));
    }
    lbk_dict_set(h, "forward", info);
    *out = h;
    return LBK_OK;
}
static lbk_result del_execute(void *self, lbk_ctx *ctx, const lbk_value *handle, const lbk_value *inputs, lbk_value **out) {
    (void)self;
    int64_t dh = lbk_value_as_int(lbk_list_get(handle, 0));
    if (g_del_mode == 1) return lbk_backend_error(LBK_ERR_BACKEND, dh, "the accelerator faulted");
    float x[8], y[12];
    if (lbk_read(ctx, lbk_value_as_tensor(lbk_list_get(inputs, 0)), x, sizeof x) != LBK_OK) return LBK_ERR_BACKEND;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) y[i * 3 + j] = (float)(B[j] + x[i * 2] * W[j] + x[i * 2 + 1] * W[3 + j]);
    int64_t d[2] = {4, 3};
    lbk_value *l = lbk_value_list();
    lbk_list_push(l, lbk_value_tensor((lbk_from_host)(ctx, LBK_F32, 2, d, y)));
    if (g_del_mode == 2) lbk_list_push(l, lbk_value_tensor((lbk_from_host)(ctx, LBK_F32, 2, d, y)));
    *out = l;
    return LBK_OK;
}
/* Runs m.forward on zeros with the delegate failing at its matmul: the error must say needle. */
static void expect_fault(lbk_ctx *ctx, lbk_module *m, int n_out, const char *needle) {
    int64_t xd[2] = {4, 2};
    double x[8] = {0};
    lbk_tensor in = tfrom(ctx, LBK_F32, 2, xd, x), out[2];
    g_del_mode = 1;
    assert_int_equal(lbk_module_run(m, "forward", &in, 1, out, n_out), LBK_ERR_BACKEND);
    assert_contains(lbk_ctx_error(ctx), "the accelerator faulted");
    assert_contains(lbk_ctx_error(ctx), needle);
    g_del_mode = 0;
    lbk_ctx_clear_error(ctx);
}
static int g_del_freed;
static void del_free(void *self, lbk_value *h) { (void)self; (void)h; g_del_freed++; }
static bool never(void *self) { (void)self; return false; }
static int g_warned;
static void logger(void *user, lbk_log_level lv, const char *msg) {
    (void)user;
    if (lv == LBK_LOG_WARN && strstr(msg, "is not available")) g_warned++;
}

static void test_delegate_members_and_hierarchy(void **state) {
    (void)state;
    reg_cpu_like("delegator", del_compile, del_execute, del_free, true);
    lbk_ctx *ctx = tctx();
    lbk_module *m = make_model(ctx);
    lbk_value *spec = fwd_spec();
    lbk_module *low = lbk_to_backend(lbk_module_child(m, "encoder"), "delegator", spec);
    assert_non_null(low);
    assert_int_equal(lbk_module_replace_child(m, "encoder", low), LBK_OK);
    g_del_mode = 0;
    check_run(ctx, m, 5);
    /* a failure at a node names the module hierarchy and the line that traced it */
    expect_fault(ctx, m, 2, "Module hierarchy:top(Model)::encoder(Encoder)::forward.matmul, traced at tests/test_module.c:");
    int64_t xd[2] = {4, 2};
    double x[8] = {0};
    lbk_tensor in = tfrom(ctx, LBK_F32, 2, xd, x), out[2];
    /* the wrong number of outputs */
    g_del_mode = 2;
    assert_int_equal(lbk_module_run(m, "forward", &in, 1, out, 2), LBK_ERR_BACKEND);
    assert_contains(lbk_ctx_error(ctx), "returned 2 outputs; the method declares 1");
    lbk_ctx_clear_error(ctx);
    g_del_mode = 0;
    check_run(ctx, m, 6);
    g_del_freed = 0;
    lbk_module_destroy(m);
    assert_int_equal(g_del_freed, 1);
    lbk_value_free(spec);
    lbk_ctx_destroy(ctx);
    assert_int_equal(lbk_backend_unregister("delegator"), LBK_OK);
}

/* One level: an error inside a backend's execute at a node traced in Model.forward. */
static void test_hierarchy_one_level(void **state) {
    (void)state;
    reg_cpu_like("delegator1", del_compile, del_execute, NULL, true);
    lbk_ctx *ctx = tctx();
    lbk_module *e = make_encoder(ctx);
    lbk_value *spec = fwd_spec();
    lbk_module *low = lbk_to_backend(e, "delegator1", spec);
    expect_fault(ctx, low, 1, "Module hierarchy:top(Encoder)::forward.matmul, traced at tests/test_module.c:");
    lbk_module_destroy(low);
    lbk_module_destroy(e);
    lbk_value_free(spec);
    lbk_ctx_destroy(ctx);
    assert_int_equal(lbk_backend_unregister("delegator1"), LBK_OK);
}

/* Lowering for an unavailable backend succeeds with a warning; running fails clearly. */
static void test_unavailable(void **state) {
    (void)state;
    reg_cpu_like("offline", NULL, NULL, NULL, false);
    lbk_ctx_desc d = {0};
    d.logger = logger;
    lbk_ctx *ctx = lbk_ctx_create(&d);
    lbk_module *m = make_model(ctx);
    lbk_value *spec = fwd_spec();
    g_warned = 0;
    lbk_module *low = lbk_to_backend(m, "offline", spec);
    assert_non_null(low);
    assert_int_equal(g_warned, 1);
    int64_t xd[2] = {4, 2};
    double x[8] = {0};
    lbk_tensor in = tfrom(ctx, LBK_F32, 2, xd, x), out[2];
    assert_int_equal(lbk_module_run(low, "forward", &in, 1, out, 2), LBK_ERR_UNAVAILABLE);
    assert_contains(lbk_ctx_error(ctx), "backend 'offline' is not available");
    lbk_ctx_clear_error(ctx);
    check_run(ctx, m, 1);
    lbk_module_destroy(low);
    lbk_module_destroy(m);
    lbk_value_free(spec);
    lbk_ctx_destroy(ctx);
    assert_int_equal(lbk_backend_unregister("offline"), LBK_OK);
}

static int g_pp_calls;
static lbk_result my_pp(const lbk_module *m, const lbk_value *spec, lbk_value **out) {
    g_pp_calls++;
    return lbk_preprocess_default(m, spec, out);
}
static lbk_result rejecting_pp(const lbk_module *m, const lbk_value *spec, lbk_value **out) {
    (void)m; (void)spec; (void)out;
    return lbk_backend_error(LBK_ERR_UNSUPPORTED, -1, "no matmul here");
}

static void test_preprocess_registry(void **state) {
    (void)state;
    assert_false(lbk_preprocess_has("cpu-reference"));
    assert_int_equal(lbk_preprocess_register("cpu-reference", my_pp), LBK_OK);
    assert_true(lbk_preprocess_has("cpu-reference"));
    assert_ptr_equal(lbk_preprocess_get("cpu-reference"), my_pp);
    assert_int_equal(lbk_preprocess_register("cpu-reference", my_pp), LBK_ERR_EXISTS);
    assert_int_equal(lbk_preprocess_register("not-yet-registered", rejecting_pp), LBK_OK);   /* the backend need not exist */
    assert_int_equal(lbk_preprocess_register(NULL, my_pp), LBK_ERR_ARG);
    lbk_ctx *ctx = tctx();
    lbk_module *m = make_model(ctx);
    lbk_value *spec = fwd_spec();
    g_pp_calls = 0;
    lbk_module *low = lbk_to_backend(m, "cpu-reference", spec);
    assert_non_null(low);
    assert_int_equal(g_pp_calls, 1);
    check_run(ctx, low, 4);
    lbk_module_destroy(low);
    lbk_module_destroy(m);
    lbk_value_free(spec);
    lbk_ctx_destroy(ctx);
}

/* Tracing misuse: end without begin, begin twice, a second method of the same name, a
   call of a module that is not a child; the context stays usable. */
static void test_trace_misuse(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    lbk_module *m = lbk_module_create(ctx, "M"), *stray = make_encoder(ctx);
    int64_t xd[1] = {3};
    const int64_t *dims[1] = {xd};
    int nd[1] = {1};
    lbk_dtype dt[1] = {LBK_F64};
    lbk_tensor x, x2;
    assert_int_equal(lbk_method_end(m, &x, 1), LBK_ERR_ARG);
    assert_contains(lbk_ctx_error(ctx), "without lbk_method_begin");
    lbk_ctx_clear_error(ctx);
    assert_int_equal(lbk_method_begin(m, "f", 1, dt, nd, dims, &x), LBK_OK);
    assert_int_equal(lbk_method_begin(m, "g", 1, dt, nd, dims, &x2), LBK_ERR_BUSY);
    lbk_ctx_clear_error(ctx);
    int64_t sd[2] = {4, 2};
    lbk_tensor s = lbk_full(ctx, LBK_F32, 2, sd, 0), so;
    assert_int_equal(lbk_module_call(stray, "forward", &s, 1, &so, 1), LBK_ERR_ARG);
    assert_contains(lbk_ctx_error(ctx), "is not a child of M");
    lbk_ctx_clear_error(ctx);
    lbk_tensor y = lbk_exp(ctx, x);
    assert_int_equal(lbk_method_end(m, &y, 1), LBK_OK);
    assert_int_equal(lbk_method_begin(m, "f", 1, dt, nd, dims, &x2), LBK_ERR_EXISTS);
    lbk_ctx_clear_error(ctx);
    assert_int_equal(lbk_module_add_child(m, "self", m), LBK_ERR_ARG);
    lbk_ctx_clear_error(ctx);
    /* still usable */
    double v[3] = {0, 1, -1}, got[3];
    lbk_tensor in = tfrom(ctx, LBK_F64, 1, xd, v), out;
    assert_int_equal(lbk_module_run(m, "f", &in, 1, &out, 1), LBK_OK);
    tread(ctx, out, got);
    for (int i = 0; i < 3; i++) assert_true(fabs(got[i] - exp(v[i])) < 1e-15);
    assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
    lbk_module_destroy(stray);
    lbk_module_destroy(m);
    lbk_ctx_destroy(ctx);
}

/* Save and load: lowered and plain modules round-trip (values, types, the tree, debug
   handles); truncated, corrupted and wrong-version files give LBK_ERR_FORMAT; a saved
   module for an unavailable backend gives LBK_ERR_UNAVAILABLE at load. */
static void test_save_load(void **state) {
    (void)state;
    const char *path = "build/test_module.lbkm", *bad = "build/test_module_bad.lbkm";
    lbk_ctx *ctx = tctx_on("cpu");
    lbk_module *m = make_model(ctx);
    lbk_value *spec = fwd_spec();
    lbk_module *low = lbk_to_backend(m, "cpu-reference", spec);
    assert_non_null(low);
    assert_int_equal(lbk_module_save(low, path), LBK_OK);
    lbk_module_destroy(low);
    lbk_ctx *c2 = tctx_on("cpu");
    lbk_module *ld = lbk_module_load(c2, path);
    assert_non_null(ld);
    assert_string_equal(lbk_module_type(ld), "Model");
    assert_string_equal(lbk_module_backend(ld), "cpu-reference");
    assert_string_equal(lbk_module_type(lbk_module_child(ld, "encoder")), "Encoder");
    check_run(c2, ld, 11);
    lbk_module_destroy(ld);
    /* a plain module: saved lowered to its context's backend */
    assert_int_equal(lbk_module_save(m, path), LBK_OK);
    ld = lbk_module_load(c2, path);
    assert_non_null(ld);
    assert_string_equal(lbk_module_backend(ld), "cpu");
    check_run(c2, ld, 12);
    lbk_module_destroy(ld);
    /* damaged files */
    size_t n;
    unsigned char *bytes = tfile_read(path, &n);
    assert_true(n > 64);
    size_t cuts[] = {0, 7, 8, 20, 31, 32, 33, n / 2, n - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        tfile_write(bad, bytes, cuts[k]);
        assert_null(lbk_module_load(c2, bad));
        assert_int_equal(lbk_ctx_result(c2), LBK_ERR_FORMAT);
        lbk_ctx_clear_error(c2);
    }
    for (size_t at = 0; at < n; at += n / 23 + 1) {   /* one flipped byte anywhere */
        bytes[at] ^= 0x5a;
        tfile_write(bad, bytes, n);
        bytes[at] ^= 0x5a;
        assert_null(lbk_module_load(c2, bad));
        assert_int_equal(lbk_ctx_result(c2), LBK_ERR_FORMAT);
        lbk_ctx_clear_error(c2);
    }
    bytes[8] = 3;   /* format version 3 */
    tfile_write(bad, bytes, n);
    assert_null(lbk_module_load(c2, bad));
    assert_int_equal(lbk_ctx_result(c2), LBK_ERR_FORMAT);
    assert_contains(lbk_ctx_error(c2), "format version 3; this build reads versions 1 and 2");
    lbk_ctx_clear_error(c2);
    free(bytes);
    assert_null(lbk_module_load(c2, "build/no-such-file.lbkm"));
    assert_int_equal(lbk_ctx_result(c2), LBK_ERR_IO);
    lbk_ctx_clear_error(c2);
    /* an unavailable backend: lowering warns, saving works, loading fails clearly */
    reg_cpu_like("offline2", NULL, NULL, NULL, false);
    low = lbk_to_backend(m, "offline2", spec);
    assert_non_null(low);
    assert_int_equal(lbk_module_save(low, path), LBK_OK);
    assert_null(lbk_module_load(c2, path));
    assert_int_equal(lbk_ctx_result(c2), LBK_ERR_UNAVAILABLE);
    assert_contains(lbk_ctx_error(c2), "backend 'offline2' is not available");
    lbk_ctx_clear_error(c2);
    lbk_module_destroy(low);
    assert_int_equal(lbk_backend_unregister("offline2"), LBK_OK);
    check_run(ctx, m, 13);   /* the original is untouched */
    lbk_value_free(spec);
    lbk_module_destroy(m);
    lbk_ctx_destroy(ctx);
    lbk_ctx_destroy(c2);
}

/* Debug handles survive save and load: an error in a loaded module names the hierarchy. */
static void test_save_load_debug(void **state) {
    (void)state;
    reg_cpu_like("delegator2", del_compile, del_execute, NULL, true);
    lbk_ctx *ctx = tctx();
    lbk_module *m = make_model(ctx);
    lbk_value *spec = fwd_spec();
    lbk_module *low = lbk_to_backend(lbk_module_child(m, "encoder"), "delegator2", spec);
    assert_non_null(low);
    assert_int_equal(lbk_module_save(low, "build/test_module_dbg.lbkm"), LBK_OK);
    lbk_module_destroy(low);
    lbk_module *ld = lbk_module_load(ctx, "build/test_module_dbg.lbkm");
    assert_non_null(ld);
    assert_int_equal(lbk_module_replace_child(m, "encoder", ld), LBK_OK);
    g_del_mode = 0;
    check_run(ctx, m, 21);
    expect_fault(ctx, m, 2, "Module hierarchy:top(Model)::encoder(Encoder)::forward.matmul, traced at tests/test_module.c:");
    lbk_module_destroy(m);
    lbk_value_free(spec);
    lbk_ctx_destroy(ctx);
    assert_int_equal(lbk_backend_unregister("delegator2"), LBK_OK);
}

/* A blob whose node does not follow from its inputs is refused (the check that keeps a
   crafted file from making a kernel read past a buffer); so is every payload byte changed
   with the checksum fixed up: each load fails cleanly or gives a module that runs. */
static int g_tamper;
static lbk_result tamper_pp(const lbk_module *m, const lbk_value *spec, lbk_value **out) {
    lbk_result r = lbk_preprocess_default(m, spec, out);
    if (r != LBK_OK) return r;
    lbk_value *fwd = lbk_dict_get(*out, "forward"), *nodes = lbk_dict_get(fwd, "nodes"), *copy = lbk_value_list();
    for (int64_t i = 0; i < lbk_list_len(nodes); i++) {
        const lbk_value *nd = lbk_list_get(nodes, i);
        if (is_op(lbk_list_get(nd, 1), "matmul") && lbk_value_as_int(lbk_list_get(nd, 0)) == 2) {
            lbk_value *bad = lbk_value_list();   /* the product claims one more row than its operand has */
            for (int64_t j = 0; j < lbk_list_len(nd); j++) {
                const lbk_value *it = lbk_list_get(nd, j);
                if (j == 7 && g_tamper) lbk_list_push(bad, lbk_value_int(lbk_value_as_int(it) + 1));
                else lbk_list_push(bad, lbk_value_copy(it));
            }
            lbk_list_push(copy, bad);
        } else {
            lbk_list_push(copy, lbk_value_copy(nd));
        }
    }
    lbk_dict_set(fwd, "nodes", copy);
    return LBK_OK;
}
static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 0x100000001b3ULL; }
    return h;
}
static void test_load_validation(void **state) {
    (void)state;
    reg_cpu_like("tamper", NULL, NULL, NULL, true);
    assert_int_equal(lbk_preprocess_register("tamper", tamper_pp), LBK_OK);
    lbk_ctx *ctx = tctx();
    lbk_module *e = make_encoder(ctx);
    lbk_value *spec = fwd_spec();
    g_tamper = 0;
    lbk_module *low = lbk_to_backend(e, "tamper", spec);   /* untampered: fine */
    assert_non_null(low);
    lbk_module_destroy(low);
    g_tamper = 1;
    assert_null(lbk_to_backend(e, "tamper", spec));
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_FORMAT);
    assert_contains(lbk_ctx_error(ctx), "do not follow from its inputs");
    lbk_ctx_clear_error(ctx);
    /* every payload byte changed, checksum fixed */
    low = lbk_to_backend(e, "cpu", spec);
    assert_non_null(low);
    assert_int_equal(lbk_module_save(low, "build/test_module_fz.lbkm"), LBK_OK);
    lbk_module_destroy(low);
    size_t n;
    unsigned char *bytes = tfile_read("build/test_module_fz.lbkm", &n);
    int loaded = 0, refused = 0;
    uint64_t meta = 0;   /* format 2: the meta payload is [64, 64 + len), its FNV-1a at 24 */
    for (int i = 0; i < 8; i++) meta |= (uint64_t)bytes[16 + i] << (8 * i);
    assert_true(bytes[8] == 2 && 64 + meta <= n);
    for (size_t at = 64; at < 64 + meta; at += 1 + (size_t)meta / 700) {
        unsigned char keep = bytes[at];
        for (int v = 0; v < 2; v++) {
            bytes[at] = v ? (unsigned char)(keep ^ 0x01) : (unsigned char)(keep + 0x41);
            uint64_t h = fnv1a(bytes + 64, (size_t)meta);
            for (int i = 0; i < 8; i++) bytes[24 + i] = (unsigned char)(h >> (8 * i));
            tfile_write("build/test_module_fz_bad.lbkm", bytes, n);
            lbk_module *ld = lbk_module_load(ctx, "build/test_module_fz_bad.lbkm");
            if (ld) {   /* a change that still makes sense (a weight, a name): it must run */
                int64_t xd[2] = {4, 2};
                double x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
                lbk_tensor in = tfrom(ctx, LBK_F32, 2, xd, x), out;
                if (lbk_module_run(ld, "forward", &in, 1, &out, 1) == LBK_OK) { float got[12]; (void)lbk_read(ctx, out, got, sizeof got); }
                lbk_module_destroy(ld);
                loaded++;
            } else {
                refused++;
            }
            lbk_ctx_clear_error(ctx);
        }
        bytes[at] = keep;
    }
    print_message("changed bytes: %d loads refused, %d loaded and ran\n", refused, loaded);
    assert_true(refused > 0 && loaded > 0);   /* both: the checksum is right, so the parsers and checks decide */
    free(bytes);
    assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
    lbk_module_destroy(e);
    lbk_value_free(spec);
    lbk_ctx_destroy(ctx);
    assert_int_equal(lbk_backend_unregister("tamper"), LBK_OK);
}

/* Two levels: Model > encoder(Encoder) > proj(Proj), Proj lowered to a backend that fails
   at its matmul; and a preprocess that rejects an op names it and its line. */
static lbk_result reject_matmul_pp(const lbk_module *m, const lbk_value *spec, lbk_value **out) {
    lbk_value *blob = NULL;
    lbk_result r = lbk_preprocess_default(m, spec, &blob);
    if (r != LBK_OK) return r;
    const lbk_value *nodes = lbk_dict_get(lbk_dict_get(blob, "forward"), "nodes");
    for (int64_t i = 0; i < lbk_list_len(nodes); i++) {
        const lbk_value *nd = lbk_list_get(nodes, i);
        if (is_op(lbk_list_get(nd, 1), "matmul")) {
            int64_t dh = lbk_value_as_int(lbk_list_get(nd, 6));
            lbk_value_free(blob);
            return lbk_backend_error(LBK_ERR_UNSUPPORTED, dh, "this accelerator has no matmul");
        }
    }
    *out = blob;
    return LBK_OK;
}
static void test_hierarchy_two_levels(void **state) {
    (void)state;
    reg_cpu_like("delegator3", del_compile, del_execute, NULL, true);
    reg_cpu_like("nomatmul", del_compile, del_execute, NULL, true);
    assert_int_equal(lbk_preprocess_register("nomatmul", reject_matmul_pp), LBK_OK);
    lbk_ctx *ctx = tctx();
    lbk_module *mid = lbk_module_create(ctx, "Encoder"), *proj = make_encoder_as(ctx, "Proj");
    int64_t xd[2] = {4, 2};
    const int64_t *dims[1] = {xd};
    int nd[1] = {2}, ax = 0;
    lbk_dtype dt[1] = {LBK_F32};
    lbk_tensor x, h, y[2];
    assert_int_equal(lbk_module_add_child(mid, "proj", proj), LBK_OK);
    assert_int_equal(lbk_method_begin(mid, "forward", 1, dt, nd, dims, &x), LBK_OK);
    assert_int_equal(lbk_module_call(proj, "forward", &x, 1, &h, 1), LBK_OK);
    assert_int_equal(lbk_method_end(mid, &h, 1), LBK_OK);
    lbk_module *m = lbk_module_create(ctx, "Model");
    assert_int_equal(lbk_module_add_child(m, "encoder", mid), LBK_OK);
    assert_int_equal(lbk_method_begin(m, "forward", 1, dt, nd, dims, &x), LBK_OK);
    assert_int_equal(lbk_module_call(mid, "forward", &x, 1, &h, 1), LBK_OK);
    y[0] = lbk_mul(ctx, lbk_relu(ctx, h), lbk_scalar(ctx, LBK_F32, 2));
    y[1] = lbk_sum(ctx, y[0], 1, &ax, false);
    assert_int_equal(lbk_method_end(m, y, 2), LBK_OK);
    check_run(ctx, m, 30);   /* three levels, all replayed */
    lbk_value *spec = fwd_spec();
    /* the preprocess rejects the matmul: the error names it and the line that traced it */
    assert_null(lbk_to_backend(proj, "nomatmul", spec));
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_UNSUPPORTED);
    assert_contains(lbk_ctx_error(ctx), "this accelerator has no matmul");
    assert_contains(lbk_ctx_error(ctx), "Module hierarchy:top(Proj)::forward.matmul, traced at tests/test_module.c:");
    lbk_ctx_clear_error(ctx);
    lbk_module *low = lbk_to_backend(proj, "delegator3", spec);
    assert_non_null(low);
    assert_int_equal(lbk_module_replace_child(mid, "proj", low), LBK_OK);
    g_del_mode = 0;
    check_run(ctx, m, 31);
    expect_fault(ctx, m, 2, "Module hierarchy:top(Model)::encoder(Encoder)::proj(Proj)::forward.matmul, traced at tests/test_module.c:");
    lbk_module_destroy(m);
    lbk_value_free(spec);
    lbk_ctx_destroy(ctx);
    assert_int_equal(lbk_backend_unregister("delegator3"), LBK_OK);
    assert_int_equal(lbk_backend_unregister("nomatmul"), LBK_OK);
}

/* The lazy path: a module replayed on a backend whose execute fails at a node traced in
   a child: the error names the hierarchy too. */
static void test_hierarchy_lazy_path(void **state) {
    (void)state;
    lbk_backend_i b = mock_iface("mock_mod");
    assert_int_equal(lbk_backend_register(&b, &g_mock), LBK_OK);
    lbk_ctx *ctx = tctx_on("mock_mod");
    lbk_module *m = make_model(ctx);
    lbk_value *spec = fwd_spec(), *blob = NULL;
    assert_int_equal(lbk_preprocess_default(m, spec, &blob), LBK_OK);   /* flattened: the child's nodes carry its path */
    const lbk_value *nodes = lbk_dict_get(lbk_dict_get(blob, "forward"), "nodes");
    int64_t dh = -1;
    for (int64_t i = 0; i < lbk_list_len(nodes); i++)
        if (is_op(lbk_list_get(lbk_list_get(nodes, i), 1), "matmul")) dh = lbk_value_as_int(lbk_list_get(lbk_list_get(nodes, i), 6));
    assert_true(dh >= 0);
    lbk_debug_info di;
    assert_int_equal(lbk_debug_lookup(dh, &di), LBK_OK);
    assert_string_equal(di.op, "matmul");
    assert_string_equal(di.module_path, "top(Model)::encoder(Encoder)::forward");
    assert_contains(di.file, "test_module.c");
    int64_t xd[2] = {4, 2};
    lbk_tensor in = tfrom(ctx, LBK_F32, 2, xd, (double[8]){1, 2, 3, 4, 5, 6, 7, 8}), out[2];
    assert_int_equal(lbk_module_run(m, "forward", &in, 1, out, 2), LBK_OK);
    g_mock.fail_execute = 1;
    g_mock.fail_handle = dh;
    assert_int_equal(lbk_sync(ctx, out, 2), LBK_ERR_BACKEND);
    assert_contains(lbk_ctx_error(ctx), "mock device fault");
    assert_contains(lbk_ctx_error(ctx), "Module hierarchy:top(Model)::encoder(Encoder)::forward.matmul, traced at tests/test_module.c:");
    g_mock.fail_execute = 0;
    g_mock.fail_handle = -1;
    lbk_ctx_clear_error(ctx);
    check_run(ctx, m, 40);
    lbk_value_free(blob);
    lbk_value_free(spec);
    lbk_module_destroy(m);
    lbk_ctx_destroy(ctx);
    assert_int_equal(lbk_backend_unregister("mock_mod"), LBK_OK);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_trace_and_run), cmocka_unit_test(test_to_backend_default), cmocka_unit_test(test_selective_lowering),
    cmocka_unit_test(test_delegate_members_and_hierarchy), cmocka_unit_test(test_hierarchy_one_level), cmocka_unit_test(test_unavailable),
    cmocka_unit_test(test_preprocess_registry), cmocka_unit_test(test_trace_misuse), cmocka_unit_test(test_save_load),
    cmocka_unit_test(test_save_load_debug), cmocka_unit_test(test_load_validation),
    cmocka_unit_test(test_hierarchy_two_levels), cmocka_unit_test(test_hierarchy_lazy_path),
};
TEST_GROUP(module_tests, tests);
