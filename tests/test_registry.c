/* The backend registry: registration, lookup, availability, devices, shutdown. */
#define _POSIX_C_SOURCE 200809L
#include "common.h"
#include <stdlib.h>

/* Registered before main by the constructor macro. */
static int ctor_exits;
static void ctor_exit(void *self) { (void)self; ctor_exits++; }
static lbk_backend_i ctor_iface_value(void) {
    lbk_backend_i b = mock_iface("ctor_backend");
    b.is_available = NULL;
    b.prepare_to_exit = ctor_exit;
    return b;
}
static lbk_backend_i g_ctor_iface;
static void set_ctor_iface(void) { g_ctor_iface = ctor_iface_value(); }
#if defined(__GNUC__) || defined(__clang__)
__attribute__((constructor(101))) static void prepare_ctor_iface(void) { set_ctor_iface(); }
LBK_BACKEND_REGISTER(ctor_backend, &g_ctor_iface, &g_mock)
#endif

static void test_builtin_cpu(void **state) {
    (void)state;
    assert_true(lbk_backend_has("cpu"));
    assert_true(lbk_backend_available("cpu"));
    assert_true(lbk_backend_count() >= 1);
    bool found = false;
    for (int i = 0; i < lbk_backend_count(); i++) found |= strcmp(lbk_backend_name(i), "cpu") == 0;
    assert_true(found);
    assert_null(lbk_backend_name(-1));
    assert_null(lbk_backend_name(lbk_backend_count()));
    void *self = NULL;
    const lbk_backend_i *b = lbk_backend_get("cpu", &self);
    assert_non_null(b);
    assert_non_null(self);
    assert_string_equal(b->name, "cpu");
    assert_int_equal(b->abi_version, LBK_BACKEND_ABI);
    assert_null(lbk_backend_get("no-such-backend", &self));
    assert_null(self);
    assert_int_equal(lbk_last_result(), LBK_ERR_NOT_FOUND);
    lbk_ctx_desc dc = {0};
    dc.backend = "cpu";   /* tctx() follows $LAZYBK_BACKEND (make cuda runs the suite on cuda) */
    lbk_ctx *ctx = lbk_ctx_create(&dc);
    assert_non_null(ctx);
    assert_string_equal(lbk_ctx_backend(ctx), "cpu");
    assert_int_equal(lbk_ctx_device(ctx).type, LBK_DEVICE_CPU);
    assert_int_equal(lbk_ctx_device(ctx).ordinal, 0);
    lbk_ctx_destroy(ctx);
}

static void test_constructor_registration(void **state) {
    (void)state;
#if defined(__GNUC__) || defined(__clang__)
    assert_true(lbk_backend_has("ctor_backend"));
    lbk_ctx *ctx = tctx_on("ctor_backend");
    int64_t n = 3;
    double v[3] = {1, 2, 3}, got[3];
    tread(ctx, lbk_mul(ctx, tfrom(ctx, LBK_F32, 1, &n, v), lbk_scalar(ctx, LBK_F32, 2)), got);
    assert_true(got[0] == 2 && got[2] == 6);
    lbk_ctx_destroy(ctx);
    assert_int_equal(lbk_backend_unregister("ctor_backend"), LBK_OK);
    assert_int_equal(ctor_exits, 1);   /* prepare_to_exit ran once */
    assert_false(lbk_backend_has("ctor_backend"));
#else
    skip();
#endif
}

static void test_register_duplicate_unknown(void **state) {
    (void)state;
    lbk_backend_i b = mock_iface("mock_dup");
    assert_int_equal(lbk_backend_register(&b, &g_mock), LBK_OK);
    assert_int_equal(lbk_backend_register(&b, &g_mock), LBK_ERR_EXISTS);
    assert_contains(lbk_last_error(), "mock_dup");
    b.name = "cpu";
    assert_int_equal(lbk_backend_register(&b, &g_mock), LBK_ERR_EXISTS);
    assert_int_equal(lbk_backend_unregister("mock_dup"), LBK_OK);
    assert_int_equal(lbk_backend_unregister("mock_dup"), LBK_ERR_NOT_FOUND);
    assert_int_equal(lbk_backend_register(NULL, NULL), LBK_ERR_ARG);
    assert_int_equal(lbk_backend_unregister(NULL), LBK_ERR_ARG);
    assert_false(lbk_backend_has(NULL));
    assert_false(lbk_backend_available("nope"));
    lbk_ctx_desc d = {0};
    d.backend = "nope";
    assert_null(lbk_ctx_create(&d));
    assert_int_equal(lbk_last_result(), LBK_ERR_NOT_FOUND);
    assert_contains(lbk_last_error(), "'nope'");
    assert_contains(lbk_last_error(), "cpu");   /* lists what is registered */
}

static void test_register_validation(void **state) {
    (void)state;
    lbk_backend_i b = mock_iface("mock_bad");
    b.execute_computation = NULL;
    assert_int_equal(lbk_backend_register(&b, &g_mock), LBK_ERR_ARG);
    assert_contains(lbk_last_error(), "required");
    b = mock_iface("mock_bad");
    b.abi_version = 99;
    assert_int_equal(lbk_backend_register(&b, &g_mock), LBK_ERR_ARG);
    b = mock_iface("");
    assert_int_equal(lbk_backend_register(&b, &g_mock), LBK_ERR_ARG);
    /* a backend built against an older, smaller vtable: later members read as NULL */
    b = mock_iface("mock_old");
    b.struct_size = (uint32_t)offsetof(lbk_backend_i, computation_text);
    b.metric_report = (const char *(*)(void *))0x1;   /* beyond its struct_size: must be ignored */
    assert_int_equal(lbk_backend_register(&b, &g_mock), LBK_OK);
    const lbk_backend_i *got = lbk_backend_get("mock_old", NULL);
    assert_null(got->metric_report);
    lbk_ctx *ctx = tctx_on("mock_old");
    assert_contains(lbk_metrics_report(ctx), "sync: 0");
    lbk_ctx_destroy(ctx);
    assert_int_equal(lbk_backend_unregister("mock_old"), LBK_OK);
}

static void test_unavailable(void **state) {
    (void)state;
    lbk_backend_i b = mock_iface("mock_off");
    assert_int_equal(lbk_backend_register(&b, &g_mock), LBK_OK);
    g_mock.available = 0;
    assert_true(lbk_backend_has("mock_off"));   /* registered and listed... */
    assert_false(lbk_backend_available("mock_off"));
    lbk_ctx_desc d = {0};
    d.backend = "mock_off";
    assert_null(lbk_ctx_create(&d));            /* ...but no context */
    assert_int_equal(lbk_last_result(), LBK_ERR_UNAVAILABLE);
    assert_contains(lbk_last_error(), "mock_off");
    assert_contains(lbk_last_error(), "switched off");
    g_mock.available = 1;
    lbk_ctx *ctx = lbk_ctx_create(&d);
    assert_non_null(ctx);
    assert_int_equal(lbk_backend_unregister("mock_off"), LBK_ERR_BUSY);   /* in use */
    lbk_ctx_destroy(ctx);
    assert_int_equal(lbk_backend_unregister("mock_off"), LBK_OK);
}

static void test_ordinals_and_env(void **state) {
    (void)state;
    lbk_ctx_desc d = {0};
    d.backend = "cpu:0";
    lbk_ctx *ctx = lbk_ctx_create(&d);
    assert_non_null(ctx);
    lbk_ctx_destroy(ctx);
    d.backend = "cpu:1";
    assert_null(lbk_ctx_create(&d));
    assert_int_equal(lbk_last_result(), LBK_ERR_ARG);
    d.backend = "cpu:x";
    assert_null(lbk_ctx_create(&d));
    assert_int_equal(lbk_last_result(), LBK_ERR_ARG);
    d.backend = ":0";
    assert_null(lbk_ctx_create(&d));
    /* $LAZYBK_BACKEND chooses the default */
    lbk_backend_i b = mock_iface("mock_env");
    assert_int_equal(lbk_backend_register(&b, &g_mock), LBK_OK);
    char saved[64] = "";
    if (getenv("LAZYBK_BACKEND")) snprintf(saved, sizeof saved, "%s", getenv("LAZYBK_BACKEND"));
    setenv("LAZYBK_BACKEND", "mock_env", 1);
    assert_string_equal(lbk_backend_default(), "mock_env");
    ctx = lbk_ctx_create(NULL);
    assert_non_null(ctx);
    assert_string_equal(lbk_ctx_backend(ctx), "mock_env");
    lbk_ctx_destroy(ctx);
    if (saved[0]) setenv("LAZYBK_BACKEND", saved, 1); else unsetenv("LAZYBK_BACKEND");
    assert_string_equal(lbk_backend_default(), saved[0] ? saved : "cpu");
    assert_int_equal(lbk_backend_unregister("mock_env"), LBK_OK);
}

/* The cpu backend's compile sees only the read-only view; so does a user backend. */
static void test_graph_view(void **state) {
    (void)state;
    lbk_backend_i b = mock_iface("mock_view");
    assert_int_equal(lbk_backend_register(&b, &g_mock), LBK_OK);
    lbk_ctx *ctx = tctx_on("mock_view");
    int64_t dims[3] = {2, 3, 4};
    double v[24], got[24];
    tfill(v, 24, 0, 1, 3);
    lbk_tensor x = tfrom(ctx, LBK_F32, 3, dims, v);
    int perm[3] = {2, 1, 0}, axes[2] = {0, -1};
    lbk_tensor y = lbk_sum(ctx, lbk_permute(ctx, lbk_mul(ctx, x, lbk_scalar(ctx, LBK_F32, 3)), perm), 2, axes, false);
    lbk_tensor z = lbk_slice(ctx, x, 1, 1, 3, 1);
    assert_int_equal(lbk_sync(ctx, (lbk_tensor[]){y, z}, 2), LBK_OK);
    assert_int_equal(g_mock.seen_outputs, 2);
    assert_int_equal(g_mock.seen_params, 2);
    assert_int_equal(g_mock.seen_scalar_params, 1);
    assert_int_equal(g_mock.seen_nodes, 6);   /* x, scalar, mul, permute, sum, slice */
    assert_int_equal(g_mock.seen_n_axes, 2);
    assert_int_equal(g_mock.seen_axes[0], 0);
    assert_int_equal(g_mock.seen_axes[1], 2);
    assert_true(g_mock.seen_has_perm && g_mock.seen_perm[0] == 2 && g_mock.seen_perm[2] == 0);
    assert_int_equal(g_mock.seen_slice_axis, 1);
    assert_int_equal(g_mock.seen_slice_start, 1);
    assert_int_equal(g_mock.seen_slice_step, 1);
    tread(ctx, y, got);   /* sum over perm axes 0 and 2 = original axes 2 and 0: leaves axis 1 */
    for (int j = 0; j < 3; j++) {
        double s = 0;
        for (int i = 0; i < 2; i++) for (int k = 0; k < 4; k++) s += 3 * (double)(float)v[(i * 3 + j) * 4 + k];
        assert_true(fabs(got[j] - s) < 1e-5);
    }
    /* out-of-range accessors never crash */
    assert_int_equal(lbk_graph_size(NULL), 0);
    assert_int_equal(lbk_graph_node(NULL, 5).op, LBK_OP_INVALID);
    assert_int_equal(lbk_graph_param_index(NULL, 0), -1);
    assert_int_equal(lbk_node_axes(NULL, 0, NULL), 0);
    assert_string_equal(lbk_op_name((lbk_op)9999), "invalid");
    assert_string_equal(lbk_op_name(LBK_OP_MATMUL), "matmul");
    lbk_ctx_destroy(ctx);
    assert_int_equal(lbk_backend_unregister("mock_view"), LBK_OK);
}

static int shut_exits;
static void shut_exit(void *self) { (void)self; shut_exits++; }
static void test_shutdown(void **state) {
    (void)state;
    lbk_backend_i b = mock_iface("mock_shut");
    b.prepare_to_exit = shut_exit;
    assert_int_equal(lbk_backend_register(&b, &g_mock), LBK_OK);
    /* lbk_shutdown runs every backend's prepare_to_exit once (cpu's only drops its pool) */
    assert_int_equal(lbk_shutdown(), LBK_OK);
    assert_int_equal(lbk_shutdown(), LBK_OK);
    assert_int_equal(shut_exits, 1);
    assert_int_equal(lbk_backend_unregister("mock_shut"), LBK_OK);
    assert_int_equal(shut_exits, 1);
    /* the cpu backend still works afterwards */
    lbk_ctx *ctx = tctx();
    double got[1];
    tread(ctx, lbk_add(ctx, lbk_scalar(ctx, LBK_F64, 1), lbk_scalar(ctx, LBK_F64, 2)), got);
    assert_true(got[0] == 3);
    lbk_ctx_destroy(ctx);
}

static void test_result_strings(void **state) {
    (void)state;
    assert_string_equal(lbk_result_str(LBK_OK), "ok");
    assert_string_equal(lbk_result_str(LBK_ERR_STALE), "stale or foreign tensor handle");
    assert_string_equal(lbk_result_str((lbk_result)-5), "unknown result");
    assert_string_equal(lbk_version(), LAZYBK_VERSION_STRING);
    assert_string_equal(lbk_dtype_name(LBK_BOOL), "bool");
    assert_string_equal(lbk_dtype_name((lbk_dtype)77), "invalid");
    assert_int_equal(lbk_dtype_size(LBK_F64), 8);
    assert_int_equal(lbk_dtype_size((lbk_dtype)0), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_builtin_cpu),        cmocka_unit_test(test_constructor_registration),
    cmocka_unit_test(test_register_duplicate_unknown), cmocka_unit_test(test_register_validation),
    cmocka_unit_test(test_unavailable),        cmocka_unit_test(test_ordinals_and_env),
    cmocka_unit_test(test_graph_view),         cmocka_unit_test(test_shutdown),
    cmocka_unit_test(test_result_strings),
};
TEST_GROUP(registry_tests, tests);
