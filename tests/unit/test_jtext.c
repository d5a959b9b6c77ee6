/*
 * test_jtext.c - unit tests for the JSON text surgery (jtext.c): walking the
 * top-level members of an object text, comparing raw keys with escapes
 * decoded, and the copies that keep bytes (strings, JSON text, members but
 * some keys), each result parsed back with cJSON.
 *
 * The messages built with it are tested in test_msg.c. Leaks are not asserted
 * here: run the binary under valgrind or build it with -fsanitize=address.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jtext.h"

#define FFFD "\xEF\xBF\xBD"

struct member_want {
	const char *key; /* raw, as between the quotes */
	const char *value; /* raw */
};

struct copy_case {
	const char *obj;
	const char *want; /* after copy_except(obj, "type"), "type":"notification" and "}" */
};

/* ==== Helpers ================================================================================= */

/* Walks text and checks its members, then the end (0) or a broken text (-1). */
static void members_are(const char *text, const struct member_want *want, size_t n, int last)
{
	struct jtext_iter it;
	struct jtext_member m;
	size_t i;

	assert_true(jtext__members(&it, text, strlen(text)));
	for (i = 0; i < n; i++) {
		assert_int_equal(jtext__next(&it, &m), 1);
		assert_int_equal(m.key_len, strlen(want[i].key));
		assert_memory_equal(m.key, want[i].key, m.key_len);
		assert_int_equal(m.value_len, strlen(want[i].value));
		assert_memory_equal(m.value, want[i].value, m.value_len);
	}
	assert_int_equal(jtext__next(&it, &m), last);
	assert_int_equal(jtext__next(&it, &m), last); /* and stays there */
}

/* Takes the buffer's text, checks it is want, and frees it. */
static void taken_is(struct jtext_buf *b, const char *want)
{
	size_t len = 99;
	char *p = jtext__buf_take(b, &len);

	assert_non_null(p);
	assert_int_equal(len, strlen(want));
	assert_string_equal(p + b->head, want);
	free(p);
}

/* Copies s with jtext__put_json and checks the result (NULL: refused as not strict JSON). */
static void put_json_is(const char *s, const char *want)
{
	struct jtext_buf b;

	jtext__buf_init(&b, 0);
	jtext__put_json(&b, s, strlen(s));
	if (!want) {
		assert_int_equal(b.err, RTG_ERR_INVAL);
		jtext__buf_cleanup(&b);
		return;
	}
	assert_int_equal(b.err, RTG_OK);
	taken_is(&b, want);
}

/* ==== jtext: walking ========================================================================== */

static void test_jtext_members_skip_nested_objects_and_arrays(void **state)
{
	static const struct member_want want[] = {
		{"a", "{\"b\":[1,{\"c\":\"}\"}],\"d\":{}}"},
		{"e", "[[],[{}]]"},
		{"f", "-1.5e3"},
		{"g", "null"},
	};

	(void)state;
	members_are(" {\"a\":{\"b\":[1,{\"c\":\"}\"}],\"d\":{}}, \"e\" : [[],[{}]],\n"
		    "\"f\":-1.5e3,\"g\":null } ",
		want, 4, 0);
}

static void test_jtext_members_skip_strings_with_escaped_quotes_and_braces(void **state)
{
	static const struct member_want want[] = {
		{"k\\\"}", "\"v\\\\\\\"}{\""},
		{"n", "\"[\\\\\""},
		{"\\u0074ype", "\"x\""},
	};

	(void)state;
	members_are(
		"{\"k\\\"}\":\"v\\\\\\\"}{\",\"n\":\"[\\\\\",\"\\u0074ype\":\"x\"}", want, 3, 0);
}

static void test_jtext_members_of_an_empty_object_end_at_once(void **state)
{
	(void)state;
	members_are("{}", NULL, 0, 0);
	members_are("\xEF\xBB\xBF \n{ }", NULL, 0, 0); /* a byte order mark, as cJSON skips it */
}

static void test_jtext_members_of_a_broken_text_stop_without_reading_past_it(void **state)
{
	static const struct member_want a = {"a", "1"};
	struct jtext_iter it;
	struct jtext_member m;

	(void)state;
	members_are("{\"a\":1", &a, 1, -1);
	members_are("{\"a\":1,\"b", &a, 1, -1);
	members_are("{\"a\":1,\"b\":", &a, 1, -1);
	members_are("{\"a\":1,\"b\":[1,{", &a, 1, -1);
	members_are("{\"a\":1,\"b\":\"x\\", &a, 1, -1);
	members_are("{\"a\":1,7}", &a, 1, -1);
	assert_false(jtext__members(&it, "[1]", 3));
	assert_false(jtext__members(&it, "  ", 2));
	assert_false(jtext__members(&it, NULL, 0));
	assert_int_equal(jtext__next(&it, &m), -1);
}

static void test_jtext_value_end_finds_the_end_of_each_kind_of_value(void **state)
{
	static const char *const values[] = {
		"\"a\\\"b\"", "[1,[2]]", "{\"a\":\"]\"}", "12.5", "true"};
	static const char open_array[] = "[1,2", open_string[] = "\"ab";
	char text[32];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		n = strlen(values[i]);
		memcpy(text, values[i], n);
		memcpy(text + n, ",x", 3);
		assert_ptr_equal(jtext__value_end(text, text + n + 2), text + n);
	}
	assert_null(jtext__value_end(open_array, open_array + 4));
	assert_null(jtext__value_end(open_string, open_string + 3));
}

static void test_jtext_depth_is_counted_outside_strings(void **state)
{
	(void)state;
	assert_true(jtext__depth_ok("[[{}]]", 6, 3));
	assert_false(jtext__depth_ok("[[{}]]", 6, 2));
	assert_true(jtext__depth_ok(" [\"[[[[\"] ", 10, 1));
	assert_true(jtext__depth_ok("12", 2, 0));
	assert_false(jtext__depth_ok("[[", 2, 5)); /* cut short */
}

/* ==== jtext: keys ============================================================================= */

static void test_jtext_key_is_decodes_escapes(void **state)
{
	(void)state;
	assert_true(jtext__key_is("type", 4, "type"));
	assert_true(jtext__key_is("\\u0074ype", 9, "type"));
	assert_true(jtext__key_is("t\\u0079\\u0070\\u0065", 19, "type"));
	assert_true(jtext__key_is("a\\\"b\\\\c\\/d\\n", 12, "a\"b\\c/d\n"));
	assert_true(jtext__key_is("\\u00e9", 6, "\xC3\xA9"));
	assert_true(jtext__key_is("\\ud83d\\ude00", 12, "\xF0\x9F\x98\x80"));
	assert_true(jtext__key_is("", 0, ""));
}

static void test_jtext_key_is_tells_other_keys_apart(void **state)
{
	(void)state;
	assert_false(jtext__key_is("typ", 3, "type"));
	assert_false(jtext__key_is("types", 5, "type"));
	assert_false(jtext__key_is("\\u0074yp", 8, "type"));
	assert_false(jtext__key_is("\\u0074ypes", 10, "type"));
	assert_false(jtext__key_is("Type", 4, "type"));
	assert_false(jtext__key_is("", 0, "type"));
}

static void test_jtext_key_is_ends_a_key_at_an_escaped_nul_as_cjson_does(void **state)
{
	(void)state;
	assert_true(jtext__key_is("type\\u0000x", 11, "type"));
	assert_false(jtext__key_is("ty\\u0000pe", 10, "type"));
}

static void test_jtext_key_is_refuses_broken_escapes(void **state)
{
	(void)state;
	assert_false(jtext__key_is("\\u00zz", 6, "\x0f"));
	assert_false(jtext__key_is("\\ud83d", 6, "x")); /* a high surrogate alone */
	assert_false(jtext__key_is("\\ude00", 6, "x")); /* a low surrogate first */
	assert_false(jtext__key_is("\\x", 2, "x"));
	assert_false(jtext__key_is("a\\", 2, "a"));
}

/* ==== jtext: copies =========================================================================== */

static void test_jtext_put_string_escapes_as_cjson_prints(void **state)
{
	static const char in[] = "a\"b\\c\n\t\x01/\xC3\xA9";
	cJSON *item = cJSON_CreateString(in);
	char *printed = cJSON_PrintUnformatted(item);
	struct jtext_buf b;

	(void)state;
	cJSON_Delete(item);
	assert_non_null(printed);
	jtext__buf_init(&b, 0);
	jtext__put_string(&b, in, sizeof(in) - 1);
	taken_is(&b, printed);
	cJSON_free(printed);
}

static void test_jtext_put_string_replaces_invalid_utf8_and_nul(void **state)
{
	struct jtext_buf b;

	(void)state;
	jtext__buf_init(&b, 0);
	jtext__put_string(&b,
		"a\x80"
		"b\0c\xF0\x9F",
		7);
	taken_is(&b, "\"a" FFFD "b" FFFD "c" FFFD FFFD "\"");
}

static void test_jtext_put_json_keeps_bytes_but_newlines_outside_strings(void **state)
{
	(void)state;
	put_json_is("{\"a\": 1.50,\r\n\"b\":[1796161075629123436,\t-0e-0]}",
		"{\"a\": 1.50,  \"b\":[1796161075629123436,\t-0e-0]}");
	/* raw control bytes inside strings, which cJSON accepts, become escapes */
	put_json_is("{\"s\":\"x\ny\x01\\n\"}", "{\"s\":\"x\\ny\\u0001\\n\"}");
	put_json_is("\"\xC3\xA9\x80\"", "\"\xC3\xA9" FFFD "\"");
}

static void test_jtext_put_json_refuses_numbers_and_escapes_strict_json_does_not_allow(void **state)
{
	static const char *const lax[] = {"01", "-01", "1.", "-.5", "1.e5", "1e", "00", "1e+"};
	static const char *const strict[] = {"0", "-0", "10", "1.05", "1e5", "1E-05", "0.5e+10"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lax) / sizeof(lax[0]); i++)
		put_json_is(lax[i], NULL);
	for (i = 0; i < sizeof(strict) / sizeof(strict[0]); i++)
		put_json_is(strict[i], strict[i]);
	put_json_is("[\"01\",\"1.\"]", "[\"01\",\"1.\"]"); /* in strings they are text */
	/* cJSON reads \u with bad hex digits as \u0000 */
	put_json_is("\"\\u00.0\"", NULL);
	put_json_is("\"\\u", NULL);
	put_json_is("\"\\u00e9\\/\"", "\"\\u00e9\\/\"");
}

static void test_jtext_copy_except_gives_valid_json_for_every_object(void **state)
{
	static const char *const drop[] = {"type"};
	static const struct copy_case cases[] = {
		{"{\"type\":\"security\",\"title\":\"x\"}",
			"{\"title\":\"x\",\"type\":\"notification\"}"},
		{"{}", "{\"type\":\"notification\"}"},
		{" { } ", "{\"type\":\"notification\"}"},
		{"{\"type\":1}", "{\"type\":\"notification\"}"},
		{"{\"a\":1,\"type\":2,\"b\":{\"type\":3},\"\\u0074ype\":4}",
			"{\"a\":1,\"b\":{\"type\":3},\"type\":\"notification\"}"},
		{"{\"a\" : [1, 2]\n, \"b\":\"t\\\"ype\"}",
			"{\"a\" : [1, 2],\"b\":\"t\\\"ype\",\"type\":\"notification\"}"},
	};
	struct jtext_buf b;
	cJSON *obj;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		jtext__buf_init(&b, 16);
		jtext__copy_except(&b, cases[i].obj, strlen(cases[i].obj), drop, 1);
		jtext__put_key(&b, "type");
		jtext__put_string(&b, "notification", 12);
		jtext__put(&b, "}", 1);
		assert_int_equal(b.err, RTG_OK);
		obj = cJSON_ParseWithLength(b.data + b.head, b.len);
		assert_non_null(obj);
		assert_string_equal(cJSON_GetObjectItem(obj, "type")->valuestring, "notification");
		cJSON_Delete(obj);
		taken_is(&b, cases[i].want);
	}
}

static void test_jtext_copy_except_of_no_object_is_an_error(void **state)
{
	static const char *const drop[] = {"type"};
	struct jtext_buf b;
	size_t len;

	(void)state;
	jtext__buf_init(&b, 0);
	jtext__copy_except(&b, "[1]", 3, drop, 1);
	assert_int_equal(b.err, RTG_ERR_INVAL);
	jtext__put(&b, "x", 1); /* a no-op after an error */
	assert_null(jtext__buf_take(&b, &len));
	assert_int_equal(len, 0);
	assert_int_equal(b.err, RTG_ERR_INVAL);
	jtext__buf_cleanup(&b);
}

static void test_jtext_buffer_keeps_headroom_and_joins_keys(void **state)
{
	struct jtext_buf b;
	size_t len;
	char *p;

	(void)state;
	jtext__buf_init(&b, 16);
	jtext__put_key(&b, "a"); /* nothing before: no comma */
	jtext__put_u64(&b, 0);
	jtext__put_key(&b, "b");
	jtext__put_u64(&b, UINT64_MAX);
	p = jtext__buf_take(&b, &len);
	assert_non_null(p);
	assert_string_equal(p + 16, "\"a\":0,\"b\":18446744073709551615");
	assert_int_equal(len, strlen(p + 16));
	free(p);
	jtext__buf_init(&b, 4); /* nothing written: an empty text */
	taken_is(&b, "");
	jtext__buf_cleanup(&b);
}

static void test_jtext_utf8_valid_refuses_nul_and_bad_sequences(void **state)
{
	(void)state;
	assert_true(jtext__utf8_valid("a\xC3\xA9\xF0\x9F\x98\x80", 7));
	assert_true(jtext__utf8_valid("", 0));
	assert_false(jtext__utf8_valid("a\0", 2));
	assert_false(jtext__utf8_valid("\xC0\xAF", 2));
	assert_false(jtext__utf8_valid("\xED\xA0\x80", 3));
	assert_false(jtext__utf8_valid("\xE2\x82", 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jtext_members_skip_nested_objects_and_arrays),
		cmocka_unit_test(test_jtext_members_skip_strings_with_escaped_quotes_and_braces),
		cmocka_unit_test(test_jtext_members_of_an_empty_object_end_at_once),
		cmocka_unit_test(test_jtext_members_of_a_broken_text_stop_without_reading_past_it),
		cmocka_unit_test(test_jtext_value_end_finds_the_end_of_each_kind_of_value),
		cmocka_unit_test(test_jtext_depth_is_counted_outside_strings),
		cmocka_unit_test(test_jtext_key_is_decodes_escapes),
		cmocka_unit_test(test_jtext_key_is_tells_other_keys_apart),
		cmocka_unit_test(test_jtext_key_is_ends_a_key_at_an_escaped_nul_as_cjson_does),
		cmocka_unit_test(test_jtext_key_is_refuses_broken_escapes),
		cmocka_unit_test(test_jtext_put_string_escapes_as_cjson_prints),
		cmocka_unit_test(test_jtext_put_string_replaces_invalid_utf8_and_nul),
		cmocka_unit_test(test_jtext_put_json_keeps_bytes_but_newlines_outside_strings),
		cmocka_unit_test(
			test_jtext_put_json_refuses_numbers_and_escapes_strict_json_does_not_allow),
		cmocka_unit_test(test_jtext_copy_except_gives_valid_json_for_every_object),
		cmocka_unit_test(test_jtext_copy_except_of_no_object_is_an_error),
		cmocka_unit_test(test_jtext_buffer_keeps_headroom_and_joins_keys),
		cmocka_unit_test(test_jtext_utf8_valid_refuses_nul_and_bad_sequences),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
