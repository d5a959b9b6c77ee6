/*
 * test_reqparse.c - unit tests for the adapter's request parsing (reqparse.c):
 * the cookie, ?topic= arguments and Last-Event-ID.
 *
 * Tables go through small helpers. What hostile input can do beyond these
 * cases is the fuzz target's job (tests/fuzz/fuzz_reqparse.c); the requests
 * themselves are covered end to end by tests/integration/13-adapter-sse.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "reqparse.h"

/* ==== Helpers ================================================================================= */

/* Checks that cookie name is found in header with value want (NULL: not found). */
static void cookie_is(const char *header, const char *name, const char *want)
{
	char buf[64];
	bool found;

	memset(buf, 'x', sizeof(buf));
	found = reqparse__cookie(header, name, buf, sizeof(buf));
	if (!want) {
		if (found)
			fail_msg("'%s' in '%s': found '%s', expected none", name, header, buf);
		assert_string_equal(buf, "");
		return;
	}
	if (!found)
		fail_msg("'%s' in '%s': not found, expected '%s'", name, header, want);
	assert_string_equal(buf, want);
}

/* want NULL: not a topic argument. */
static void topic_arg_is(const char *in, const char *want)
{
	char buf[128];
	const char *f;

	snprintf(buf, sizeof(buf), "%s", in);
	f = reqparse__topic_arg(buf);
	if (!want)
		assert_null(f);
	else
		assert_string_equal(f, want);
}

static void event_id_is(const char *id, bool ok, uint64_t want)
{
	uint64_t gseq = 99;

	if (reqparse__event_id(id, "a1b2", &gseq) != ok)
		fail_msg("'%s': expected %s", id, ok ? "valid" : "refused");
	assert_int_equal(gseq, want);
}

/* ==== Cookie ================================================================================== */

static void test_cookie_alone_is_found(void **state)
{
	(void)state;
	cookie_is("rtg_token=abc.def.ghi", "rtg_token", "abc.def.ghi");
}

static void test_cookie_among_others_is_found(void **state)
{
	(void)state;
	cookie_is("a=1; rtg_token=xyz; b=2", "rtg_token", "xyz");
	cookie_is("a=1;rtg_token=xyz", "rtg_token", "xyz");
	cookie_is("a=1;\t rtg_token=xyz", "rtg_token", "xyz");
}

static void test_cookie_first_of_two_wins(void **state)
{
	(void)state;
	cookie_is("rtg_token=one; rtg_token=two", "rtg_token", "one");
}

static void test_cookie_name_must_match_exactly(void **state)
{
	(void)state;
	cookie_is("my_rtg_token=x; rtg_tokenx=y", "rtg_token", NULL);
	cookie_is("RTG_TOKEN=x", "rtg_token", NULL);
	cookie_is("rtg_token", "rtg_token", NULL);
	cookie_is("a=rtg_token=x", "rtg_token", NULL);
}

static void test_cookie_with_empty_value_is_not_found(void **state)
{
	(void)state;
	cookie_is("rtg_token=; b=2", "rtg_token", NULL);
	cookie_is("rtg_token=", "rtg_token", NULL);
	cookie_is("", "rtg_token", NULL);
	cookie_is(";;; ;", "rtg_token", NULL);
}

static void test_cookie_value_longer_than_buffer_is_cut(void **state)
{
	char buf[4];

	(void)state;
	assert_true(reqparse__cookie("rtg_token=abcdefgh", "rtg_token", buf, sizeof(buf)));
	assert_string_equal(buf, "abc");
	assert_false(reqparse__cookie("rtg_token=abc", "rtg_token", buf, 0));
}

/* ==== ?topic= ================================================================================= */

static void test_topic_argument_gives_its_filter(void **state)
{
	(void)state;
	topic_arg_is("topic=market/AAPL", "market/AAPL");
	topic_arg_is("topic=", "");
}

static void test_other_arguments_are_not_topics(void **state)
{
	(void)state;
	topic_arg_is("token=abc", NULL);
	topic_arg_is("topics=a", NULL);
	topic_arg_is("topic", NULL);
}

static void test_space_levels_become_plus(void **state)
{
	(void)state;
	topic_arg_is("topic=market/ ", "market/+");
	topic_arg_is("topic= /x/ /y", "+/x/+/y");
	topic_arg_is("topic= ", "+");
}

static void test_spaces_inside_levels_stay(void **state)
{
	(void)state;
	topic_arg_is("topic=a b/c", "a b/c");
	topic_arg_is("topic=a/  /b", "a/  /b");
	topic_arg_is("topic=a/ x", "a/ x");
}

/* ==== Last-Event-ID =========================================================================== */

static void test_event_id_of_this_epoch_gives_its_gseq(void **state)
{
	(void)state;
	event_id_is("a1b2-0", true, 0);
	event_id_is("a1b2-42", true, 42);
	event_id_is("a1b2-18446744073709551615", true, UINT64_MAX);
}

static void test_event_id_of_another_epoch_is_refused(void **state)
{
	(void)state;
	event_id_is("ffff-42", false, 0);
	event_id_is("a1b-42", false, 0);
	event_id_is("a1b2c-42", false, 0);
	event_id_is("-42", false, 0);
	event_id_is("", false, 0);
}

static void test_event_id_with_a_bad_number_is_refused(void **state)
{
	(void)state;
	event_id_is("a1b2-", false, 0);
	event_id_is("a1b2", false, 0);
	event_id_is("a1b2-4x", false, 0);
	event_id_is("a1b2- 4", false, 0);
	event_id_is("a1b2-+4", false, 0);
	event_id_is("a1b2--4", false, 0);
	event_id_is("a1b2-18446744073709551616", false, 0);
	event_id_is("a1b2-000000000000000000001", false, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cookie_alone_is_found),
		cmocka_unit_test(test_cookie_among_others_is_found),
		cmocka_unit_test(test_cookie_first_of_two_wins),
		cmocka_unit_test(test_cookie_name_must_match_exactly),
		cmocka_unit_test(test_cookie_with_empty_value_is_not_found),
		cmocka_unit_test(test_cookie_value_longer_than_buffer_is_cut),
		cmocka_unit_test(test_topic_argument_gives_its_filter),
		cmocka_unit_test(test_other_arguments_are_not_topics),
		cmocka_unit_test(test_space_levels_become_plus),
		cmocka_unit_test(test_spaces_inside_levels_stay),
		cmocka_unit_test(test_event_id_of_this_epoch_gives_its_gseq),
		cmocka_unit_test(test_event_id_of_another_epoch_is_refused),
		cmocka_unit_test(test_event_id_with_a_bad_number_is_refused),
	};

	return cmocka_run_group_tests_name("reqparse", tests, NULL, NULL);
}
