/* test_jsonl.c: the audit files' strings: cscert__jsonl_str keeps text
 * that is not UTF-8 (an account name from a client), escaped, so that no
 * audit line is lost to Jansson's UTF-8 check; lines append and read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cscert/jsonl.h"

static void test_str_table(void **state)
{
    static const struct {
        const char *in, *out;
    } rows[] = {
        {"web01", "web01"},
        {"", ""},
        {"Fran\xc3\xa7ois \xe2\x82\xac", "Fran\xc3\xa7ois \xe2\x82\xac"}, /* valid UTF-8 kept as it is */
        {"zz\xffzz", "zz\\xFFzz"},                                       /* a stray byte */
        {"\xc3", "\\xC3"},                                               /* cut short at the end */
        {"a\xc0\xafz", "a\\xC0\\xAFz"},                                  /* overlong '/' */
        {"\xed\xa0\x80", "\\xED\\xA0\\x80"},                             /* a surrogate */
        {"\xf4\x90\x80\x80", "\\xF4\\x90\\x80\\x80"},                    /* beyond U+10FFFF */
        {"ok\xf0\x9f\x94\x91", "ok\xf0\x9f\x94\x91"},                    /* a 4-byte character */
    };

    (void)state;
    assert_null(cscert__jsonl_str(NULL));
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *j = cscert__jsonl_str(rows[i].in);

        print_message("row %zu\n", i);
        assert_non_null(j);
        assert_string_equal(json_string_value(j), rows[i].out);
        json_decref(j);
    }
}

/* A line holding such a string is written and read back whole. */
static void test_append_read(void **state)
{
    char dir[] = "/tmp/cscert-test-jsonl.XXXXXX", path[64];
    json_t *o, *arr = NULL;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
    o = json_pack("{s:s, s:o*, s:o*}", "event", "refused", "actor", cscert__jsonl_str("zz\xffzz"), "source",
                  cscert__jsonl_str(NULL));
    assert_non_null(o);
    assert_null(json_object_get(o, "source")); /* NULL: the key is left out */
    assert_int_equal(cscert__jsonl_append(path, o, 0), 0);
    assert_int_equal(cscert__jsonl_read(&arr, path), 0);
    assert_int_equal(json_array_size(arr), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "actor")), "zz\\xFFzz");
    json_decref(arr);
    json_decref(o);
    unlink(path);
    rmdir(dir);
}

/* A line over the limit stays one readable line: its long fields keep
 * their start (never half a UTF-8 character) and say what was left out. */
static void test_long_line(void **state)
{
    char dir[] = "/tmp/cscert-test-jsonl.XXXXXX", path[64], *big = malloc(100001);
    json_t *o, *arr = NULL;
    const char *detail;

    (void)state;
    assert_non_null(big);
    memset(big, 'a', 100000);
    big[0] = 'x';
    memcpy(big + 1023, "\xc3\xa7", 2); /* a 2-byte character across the cut at byte 1024 */
    big[100000] = '\0';
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
    o = json_pack("{s:s, s:s}", "command", "request", "detail", big);
    assert_int_equal(cscert__jsonl_append(path, o, 0), 0);
    assert_int_equal(cscert__jsonl_read(&arr, path), 0);
    assert_int_equal(json_array_size(arr), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "command")), "request");
    detail = json_string_value(json_object_get(json_array_get(arr, 0), "detail"));
    assert_non_null(detail);
    assert_true(strncmp(detail, "xaaa", 4) == 0);
    assert_non_null(strstr(detail, "aaa... (98977 more bytes left out of the audit line)"));
    assert_null(strchr(detail, 0xc3)); /* cut before the character, not inside it */
    json_decref(arr);
    json_decref(o);
    free(big);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_table),
        cmocka_unit_test(test_append_read),
        cmocka_unit_test(test_long_line),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
