/* lbk_value: kinds, containers, ownership, deep copy, wrong-kind access. */
#include "common.h"

static void test_scalars_and_kinds(void **state) {
    (void)state;
    lbk_value *b = lbk_value_bool(true), *i = lbk_value_int(-7), *d = lbk_value_double(2.5), *s = lbk_value_str("hi");
    lbk_value *n = lbk_value_none(), *t = lbk_value_tensor((lbk_tensor){42});
    assert_int_equal(lbk_value_kind_of(b), LBK_VALUE_BOOL);
    assert_int_equal(lbk_value_kind_of(t), LBK_VALUE_TENSOR);
    assert_int_equal(lbk_value_kind_of(NULL), LBK_VALUE_NONE);
    assert_true(lbk_value_as_bool(b));
    assert_int_equal(lbk_value_as_int(i), -7);
    assert_true(lbk_value_as_double(d) == 2.5);
    assert_true(lbk_value_as_double(i) == -7.0);   /* int widens */
    assert_string_equal(lbk_value_as_str(s), "hi");
    assert_true(lbk_value_as_tensor(t).id == 42);
    /* the wrong kind is an error, not a crash */
    assert_int_equal(lbk_value_as_int(s), 0);
    assert_int_equal(lbk_last_result(), LBK_ERR_ARG);
    assert_contains(lbk_last_error(), "str");
    assert_null(lbk_value_as_str(i));
    assert_int_equal(lbk_value_as_tensor(n).id, 0);
    assert_false(lbk_value_as_bool(NULL));
    assert_null(lbk_value_str(NULL));
    lbk_value *vals[] = {b, i, d, s, n, t};
    for (size_t k = 0; k < 6; k++) lbk_value_free(vals[k]);
    lbk_value_free(NULL);
}

static void test_list_and_dict(void **state) {
    (void)state;
    lbk_value *l = lbk_value_list();
    for (int k = 0; k < 100; k++) assert_int_equal(lbk_list_push(l, lbk_value_int(k)), LBK_OK);
    assert_int_equal(lbk_list_len(l), 100);
    assert_int_equal(lbk_value_as_int(lbk_list_get(l, 99)), 99);
    assert_null(lbk_list_get(l, 100));
    assert_null(lbk_list_get(l, -1));
    lbk_value *last = lbk_list_pop(l);
    assert_int_equal(lbk_value_as_int(last), 99);
    lbk_value_free(last);
    assert_int_equal(lbk_list_len(l), 99);
    lbk_value *d = lbk_value_dict();
    assert_int_equal(lbk_dict_set(d, "forward", lbk_value_str("x")), LBK_OK);
    assert_int_equal(lbk_dict_set(d, "backward", l), LBK_OK);     /* takes ownership */
    assert_int_equal(lbk_dict_set(d, "forward", lbk_value_int(3)), LBK_OK);  /* replaces, keeps position */
    assert_int_equal(lbk_dict_len(d), 2);
    assert_string_equal(lbk_dict_key(d, 0), "forward");
    assert_string_equal(lbk_dict_key(d, 1), "backward");
    assert_null(lbk_dict_key(d, 2));
    assert_int_equal(lbk_value_as_int(lbk_dict_get(d, "forward")), 3);
    assert_true(lbk_dict_has(d, "backward"));
    assert_false(lbk_dict_has(d, "sideways"));
    assert_null(lbk_dict_get(d, "sideways"));
    /* wrong containers */
    assert_int_equal(lbk_list_push(d, lbk_value_int(1)), LBK_ERR_ARG);   /* the item is freed */
    assert_int_equal(lbk_dict_set(l, "k", lbk_value_int(1)), LBK_ERR_ARG);
    assert_int_equal(lbk_list_len(d), -1);
    assert_int_equal(lbk_dict_len(NULL), -1);
    assert_int_equal(lbk_list_push(l, NULL), LBK_ERR_ARG);
    /* deep copy is independent */
    lbk_value *c = lbk_value_copy(d);
    assert_int_equal(lbk_dict_set(c, "forward", lbk_value_int(4)), LBK_OK);
    assert_int_equal(lbk_value_as_int(lbk_dict_get(d, "forward")), 3);
    assert_int_equal(lbk_list_len(lbk_dict_get(c, "backward")), 99);
    assert_int_equal(lbk_value_as_int(lbk_list_get(lbk_dict_get(c, "backward"), 50)), 50);
    lbk_value_free(c);
    lbk_value_free(d);
}

/* Deeply nested values are freed and copied without recursion. */
static void test_deep_nesting(void **state) {
    (void)state;
    lbk_value *root = lbk_value_list(), *cur = root;
    for (int k = 0; k < 100000; k++) {
        lbk_value *next = lbk_value_list();
        lbk_list_push(cur, next);
        cur = next;
    }
    lbk_list_push(cur, lbk_value_str("bottom"));
    lbk_value *copy = lbk_value_copy(root);
    assert_non_null(copy);
    cur = copy;
    for (int k = 0; k < 100000; k++) cur = lbk_list_get(cur, 0);
    assert_string_equal(lbk_value_as_str(lbk_list_get(cur, 0)), "bottom");
    lbk_value_free(copy);
    lbk_value_free(root);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_scalars_and_kinds), cmocka_unit_test(test_list_and_dict), cmocka_unit_test(test_deep_nesting),
};
TEST_GROUP(value_tests, tests);
