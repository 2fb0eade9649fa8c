/* The lazybk test runner: the one translation unit with the implementation. */
#define LAZYBK_IMPLEMENTATION
#include "common.h"
#include <stdio.h>

extern const test_group registry_tests, ir_tests, ops_tests, exec_tests, errors_tests, decomp_tests, value_tests, check_tests, fast_tests, vmath_tests, module_tests, interop_tests, catalogue_tests, tables_tests, review_tests, dtypes_tests, index_tests, scatter_tests, nn_tests, views_tests, weights_tests, attention_tests, conv_tests;

mock_backend g_mock;

static bool mock_available(void *self) { return ((mock_backend *)self)->available; }
static const char *mock_reason(void *self) { (void)self; return "the mock device is switched off"; }
static void mock_exit(void *self) { ((mock_backend *)self)->exits++; }
static lbk_result mock_from_host(void *self, lbk_device dev, lbk_dtype dt, int nd, const int64_t *dims, const void *src, lbk_data **out) {
    mock_backend *m = (mock_backend *)self;
    return m->cpu->data_from_host(m->cpu_self, dev, dt, nd, dims, src, out);
}
static lbk_result mock_to_host(void *self, lbk_data *d, void *dst, size_t n) {
    mock_backend *m = (mock_backend *)self;
    return m->cpu->data_to_host(m->cpu_self, d, dst, n);
}
static void mock_free(void *self, lbk_data *d) { mock_backend *m = (mock_backend *)self; m->cpu->data_free(m->cpu_self, d); }
static lbk_result mock_compile(void *self, lbk_device dev, const lbk_graph *const *g, int n, lbk_computation **out) {
    mock_backend *m = (mock_backend *)self;
    m->compiles++;
    if (m->fail_compile) return lbk_backend_error(LBK_ERR_UNSUPPORTED, m->fail_handle, "mock refuses to compile");
    const lbk_graph *gr = g[0];
    m->seen_nodes = lbk_graph_size(gr);
    m->seen_params = lbk_graph_n_params(gr);
    m->seen_outputs = lbk_graph_n_outputs(gr);
    m->seen_n_axes = 0; m->seen_has_perm = 0; m->seen_slice_axis = -1; m->seen_scalar_params = 0;
    for (uint32_t k = 0; k < lbk_graph_n_params(gr); k++) m->seen_scalar_params += lbk_graph_param_is_scalar(gr, k);
    for (uint32_t i = 0; i < lbk_graph_size(gr); i++) {
        lbk_node nd = lbk_graph_node(gr, i);
        for (int k = 0; k < nd.n_inputs; k++) assert_true(nd.inputs[k] < i);   /* topological */
        if (nd.op == LBK_OP_SUM) m->seen_n_axes = lbk_node_axes(gr, i, m->seen_axes);
        if (nd.op == LBK_OP_PERMUTE) m->seen_has_perm = lbk_node_perm(gr, i, m->seen_perm);
        if (nd.op == LBK_OP_SLICE) lbk_node_slice(gr, i, &m->seen_slice_axis, &m->seen_slice_start, &m->seen_slice_step);
    }
    return m->cpu->compile(m->cpu_self, dev, g, n, out);
}
static void mock_comp_free(void *self, lbk_computation *c) { mock_backend *m = (mock_backend *)self; m->cpu->computation_free(m->cpu_self, c); }
static lbk_result mock_execute(void *self, lbk_computation *c, lbk_data *const *args, int n_args, lbk_device dev,
                               lbk_data **out, int cap, int *out_n) {
    mock_backend *m = (mock_backend *)self;
    m->executes++;
    if (m->fail_execute) return lbk_backend_error(LBK_ERR_BACKEND, m->fail_handle, "mock device fault");
    lbk_result r = m->cpu->execute_computation(m->cpu_self, c, args, n_args, dev, out, cap, out_n);
    if (r == LBK_OK && m->wrong_outputs && *out_n > 0) { m->cpu->data_free(m->cpu_self, out[*out_n - 1]); out[*out_n - 1] = NULL; (*out_n)--; }
    if (r == LBK_OK && m->null_output && *out_n > 0) { m->cpu->data_free(m->cpu_self, out[0]); out[0] = NULL; }
    for (int k = 0; r == LBK_OK && m->perturb && k < *out_n; k++) {   /* this TU sees the cpu backend's buffers */
        lbk__cpu_buf *b = (lbk__cpu_buf *)out[k];
        if (!b->bytes) continue;
        switch (b->dtype) {
        case LBK_F32: ((float *)b->ptr)[0] += 1; break;
        case LBK_F64: ((double *)b->ptr)[0] += 1; break;
        case LBK_I32: ((int32_t *)b->ptr)[0] += 1; break;
        case LBK_I64: ((int64_t *)b->ptr)[0] += 1; break;
        default: ((uint8_t *)b->ptr)[0] ^= 1; break;
        }
    }
    return r;
}
static bool mock_supports(void *self, const lbk_graph *g, uint32_t i) {
    mock_backend *m = (mock_backend *)self;
    lbk_op op = lbk_graph_node(g, i).op;
    return !m->decline[op] && lbk_op_schema(op) == NULL;
}
lbk_backend_i mock_iface(const char *name) {
    lbk_backend_i b;
    memset(&b, 0, sizeof b);
    b.struct_size = sizeof b;
    b.abi_version = LBK_BACKEND_ABI;
    b.name = name;
    b.is_available = mock_available;
    b.unavailable_reason = mock_reason;
    b.prepare_to_exit = mock_exit;
    b.data_from_host = mock_from_host;
    b.data_to_host = mock_to_host;
    b.data_free = mock_free;
    b.compile = mock_compile;
    b.computation_free = mock_comp_free;
    b.execute_computation = mock_execute;
    b.supports_op = mock_supports;
    return b;
}

int main(int argc, char **argv) {
    const test_group *groups[] = {&registry_tests, &ir_tests, &ops_tests, &exec_tests, &errors_tests, &value_tests, &decomp_tests, &check_tests, &fast_tests, &vmath_tests, &module_tests, &interop_tests, &catalogue_tests, &tables_tests, &review_tests, &dtypes_tests, &index_tests, &scatter_tests, &nn_tests, &views_tests, &weights_tests, &attention_tests, &conv_tests};
    size_t total = 0;
    int failed = 0;
    const char *only = argc > 1 ? argv[1] : NULL;
    g_mock.cpu = lbk_backend_get("cpu", &g_mock.cpu_self);
    g_mock.available = 1;
    g_mock.fail_handle = -1;
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        if (only) {   /* one group, or several separated by commas */
            size_t k = strlen(groups[i]->name);
            const char *at = only;
            while ((at = strstr(at, groups[i]->name)) != NULL && !((at == only || at[-1] == ',') && (at[k] == '\0' || at[k] == ','))) at++;
            if (!at) continue;
        }
        failed += _cmocka_run_group_tests(groups[i]->name, groups[i]->tests, groups[i]->n, NULL, NULL);
        total += groups[i]->n;
    }
    printf("\nlazybk: %zu passed, %d failed\n", total - (size_t)failed, failed);
    return failed ? 1 : 0;
}
