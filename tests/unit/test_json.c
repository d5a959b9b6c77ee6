/*
 * test_json.c - unit tests for rtg_json: reading a string field, printing,
 * and the object-of-strings builder. Leaks are not asserted here: run the
 * binary under valgrind or build it with -fsanitize=address.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rtg_json.h"

static cJSON *parse(const char *text)
{
	cJSON *obj = cJSON_ParseWithLength(text, strlen(text));

	assert_non_null(obj);
	return obj;
}

static void test_json_get_string_returns_a_string_member(void **state)
{
	cJSON *obj = parse("{\"type\":\"subscribe\",\"topic\":\"market/AAPL\"}");

	(void)state;
	assert_string_equal(rtg_json_get_string(obj, "type"), "subscribe");
	assert_string_equal(rtg_json_get_string(obj, "topic"), "market/AAPL");
	cJSON_Delete(obj);
}

static void test_json_get_string_refuses_other_types(void **state)
{
	cJSON *obj = parse("{\"n\":1,\"b\":true,\"z\":null,\"o\":{},\"a\":[\"x\"]}");

	(void)state;
	assert_null(rtg_json_get_string(obj, "n"));
	assert_null(rtg_json_get_string(obj, "b"));
	assert_null(rtg_json_get_string(obj, "z"));
	assert_null(rtg_json_get_string(obj, "o"));
	assert_null(rtg_json_get_string(obj, "a"));
	cJSON_Delete(obj);
}

static void test_json_get_string_is_case_sensitive(void **state)
{
	cJSON *obj = parse("{\"Type\":\"x\"}");

	(void)state;
	assert_null(rtg_json_get_string(obj, "type"));
	assert_string_equal(rtg_json_get_string(obj, "Type"), "x");
	cJSON_Delete(obj);
}

static void test_json_get_string_tolerates_missing_and_null(void **state)
{
	cJSON *obj = parse("{}");
	cJSON *arr = parse("[\"type\"]");

	(void)state;
	assert_null(rtg_json_get_string(obj, "type"));
	assert_null(rtg_json_get_string(NULL, "type"));
	assert_null(rtg_json_get_string(arr, "type"));
	cJSON_Delete(obj);
	cJSON_Delete(arr);
}

static void test_json_print_is_unformatted_and_gives_the_length(void **state)
{
	cJSON *obj = parse("{ \"a\" : [1, 2],\n \"b\": \"c\" }");
	size_t len = 99;
	char *text = rtg_json_print(obj, &len);

	(void)state;
	assert_non_null(text);
	assert_string_equal(text, "{\"a\":[1,2],\"b\":\"c\"}");
	assert_int_equal(len, strlen(text));
	rtg_json_free(text);
	text = rtg_json_print(obj, NULL);
	assert_non_null(text);
	rtg_json_free(text);
	cJSON_Delete(obj);
}

static void test_json_print_of_null_gives_null_and_zero_length(void **state)
{
	size_t len = 99;

	(void)state;
	assert_null(rtg_json_print(NULL, &len));
	assert_int_equal(len, 0);
	rtg_json_free(NULL);
}

static void test_json_strings_builds_members_in_order(void **state)
{
	cJSON *obj = rtg_json_strings((const char *[]){"status", "ok", "user_id", "alice", NULL});
	char *text = rtg_json_print(obj, NULL);

	(void)state;
	assert_string_equal(text, "{\"status\":\"ok\",\"user_id\":\"alice\"}");
	rtg_json_free(text);
	cJSON_Delete(obj);
}

static void test_json_strings_stops_at_the_first_null_name(void **state)
{
	cJSON *obj = rtg_json_strings((const char *[]){"a", "1", NULL, "x", "b", "2", NULL});
	char *text = rtg_json_print(obj, NULL);

	(void)state;
	assert_string_equal(text, "{\"a\":\"1\"}");
	rtg_json_free(text);
	cJSON_Delete(obj);
}

static void test_json_strings_writes_a_null_value_as_json_null(void **state)
{
	cJSON *obj = rtg_json_strings((const char *[]){"user_id", NULL, NULL});
	char *text = rtg_json_print(obj, NULL);

	(void)state;
	assert_string_equal(text, "{\"user_id\":null}");
	rtg_json_free(text);
	cJSON_Delete(obj);
}

static void test_json_strings_escapes_values(void **state)
{
	cJSON *obj = rtg_json_strings((const char *[]){"m", "say \"hi\"\n", NULL});
	char *text = rtg_json_print(obj, NULL);

	(void)state;
	assert_string_equal(text, "{\"m\":\"say \\\"hi\\\"\\n\"}");
	rtg_json_free(text);
	cJSON_Delete(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_get_string_returns_a_string_member),
		cmocka_unit_test(test_json_get_string_refuses_other_types),
		cmocka_unit_test(test_json_get_string_is_case_sensitive),
		cmocka_unit_test(test_json_get_string_tolerates_missing_and_null),
		cmocka_unit_test(test_json_print_is_unformatted_and_gives_the_length),
		cmocka_unit_test(test_json_print_of_null_gives_null_and_zero_length),
		cmocka_unit_test(test_json_strings_builds_members_in_order),
		cmocka_unit_test(test_json_strings_stops_at_the_first_null_name),
		cmocka_unit_test(test_json_strings_writes_a_null_value_as_json_null),
		cmocka_unit_test(test_json_strings_escapes_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
