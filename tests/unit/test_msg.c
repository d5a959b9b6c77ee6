/*
 * test_msg.c - unit tests for the adapter's outgoing messages (msg.c):
 * encoding of MQTT payloads (objects, other JSON, non-JSON, invalid UTF-8),
 * the message type, the SSE form and reference counts.
 *
 * Encodings are checked as exact JSON text through tables. The history that
 * keeps these messages is tested in test_history.c. Leaks and use-after-free
 * are not asserted here: run the binary under valgrind or build it with
 * -fsanitize=address,undefined.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include <libwebsockets.h>

#include "msg.h"

/* The wrapper msg__from_mqtt("t", ..., "e", 7, ...) gives a non-object payload X. */
#define WRAP(x) "{\"type\":\"message\",\"topic\":\"t\",\"seq\":7,\"epoch\":\"e\",\"payload\":" x "}"
#define FFFD "\xEF\xBF\xBD"

struct encode_case {
	const char *payload;
	size_t len;
	const char *want;
};

#define CASE(p, w)                  \
	{                           \
		p, sizeof(p) - 1, w \
	}

/* ==== Helpers ================================================================================= */

static struct out_msg *encode(const char *payload)
{
	struct out_msg *m = msg__from_mqtt("t", payload, strlen(payload), "e", 7, 42, false);

	assert_non_null(m);
	return m;
}

/* Encodes each payload and checks the exact text, that it parses, and the raw copy. */
static void encode_table(const struct encode_case *cases, size_t n)
{
	struct out_msg *m;
	cJSON *obj;
	size_t i;

	for (i = 0; i < n; i++) {
		m = msg__from_mqtt("t", cases[i].payload, cases[i].len, "e", 7, 42, false);
		assert_non_null(m);
		if (strcmp(MSG_TEXT(m), cases[i].want) != 0)
			fail_msg("case %zu encoded as %s, expected %s", i, MSG_TEXT(m),
				cases[i].want);
		assert_int_equal(m->len, strlen(cases[i].want));
		obj = cJSON_ParseWithLength(MSG_TEXT(m), m->len);
		if (!obj)
			fail_msg("case %zu is not JSON: %s", i, MSG_TEXT(m));
		cJSON_Delete(obj);
		assert_int_equal(m->payload_len, cases[i].len);
		assert_memory_equal(m->payload, cases[i].payload, cases[i].len);
		msg__unref(m);
	}
}

static void sse_helper(struct out_msg *m, const char *id, const char *want)
{
	size_t len = 99;
	unsigned char *p = msg__sse(m, id, &len);

	assert_non_null(p);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(p + LWS_PRE, want, len);
	assert_int_equal(p[LWS_PRE + len], '\0');
}

/* ==== msg: encoding =========================================================================== */

static void test_msg_object_payload_gets_topic_seq_and_epoch(void **state)
{
	static const struct encode_case cases[] = {
		CASE("{\"price\":1.5}",
			"{\"price\":1.5,\"topic\":\"t\",\"seq\":7,\"epoch\":\"e\"}"),
		CASE(" {} ", "{\"topic\":\"t\",\"seq\":7,\"epoch\":\"e\"}"),
	};
	struct out_msg *m = encode("{}");

	(void)state;
	encode_table(cases, sizeof(cases) / sizeof(cases[0]));
	assert_int_equal(m->seq, 7);
	assert_int_equal(m->gseq, 42);
	assert_string_equal(m->topic, "t");
	assert_false(m->retained);
	msg__unref(m);
}

static void test_msg_existing_topic_seq_and_epoch_are_replaced(void **state)
{
	/* duplicate keys too: JSON.parse keeps the last one, so every copy must go */
	static const struct encode_case cases[] = {
		CASE("{\"topic\":\"x\",\"seq\":99,\"seq\":98,\"epoch\":1,\"a\":[1]}",
			"{\"a\":[1],\"topic\":\"t\",\"seq\":7,\"epoch\":\"e\"}"),
	};

	(void)state;
	encode_table(cases, 1);
}

static void test_msg_non_object_json_is_wrapped_with_the_parsed_value(void **state)
{
	static const struct encode_case cases[] = {
		CASE("42", WRAP("42")),
		CASE(" [1, 2,3] \n", WRAP("[1,2,3]")),
		CASE("\"hi\"", WRAP("\"hi\"")),
		CASE("true", WRAP("true")),
		CASE("null", WRAP("null")),
	};

	(void)state;
	encode_table(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_msg_non_json_payload_is_wrapped_as_a_string(void **state)
{
	static const struct encode_case cases[] = {
		CASE("hello world", WRAP("\"hello world\"")),
		CASE("12abc", WRAP("\"12abc\"")), /* cJSON alone would stop after 12 */
		CASE("{\"a\":1} x", WRAP("\"{\\\"a\\\":1} x\"")),
		CASE("line1\nline2", WRAP("\"line1\\nline2\"")),
		CASE("", WRAP("\"\"")),
	};

	(void)state;
	encode_table(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_msg_invalid_utf8_is_replaced_and_the_output_parses(void **state)
{
	static const struct encode_case cases[] = {
		CASE("a\x80", WRAP("\"a" FFFD "\"")), /* stray continuation */
		CASE("b\xC0\xAF", WRAP("\"b" FFFD FFFD "\"")), /* overlong '/' */
		CASE("c\xED\xA0\x80", WRAP("\"c" FFFD FFFD FFFD "\"")), /* surrogate */
		CASE("d\xE2\x82", WRAP("\"d" FFFD FFFD "\"")), /* cut short */
		CASE("e\xF4\x90\x80\x80", WRAP("\"e" FFFD FFFD FFFD FFFD "\"")), /* > U+10FFFF */
		CASE("a\0b", WRAP("\"a" FFFD "b\"")), /* NUL would cut a C string short */
		/* a JSON object with a bad string is not parsed: wrapped as text instead */
		CASE("{\"k\":\"\xFF\"}", WRAP("\"{\\\"k\\\":\\\"" FFFD "\\\"}\"")),
	};

	(void)state;
	encode_table(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_msg_valid_multibyte_utf8_is_kept(void **state)
{
	static const struct encode_case cases[] = {
		CASE("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80",
			WRAP("\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"")),
		CASE("{\"k\":\"\xC3\xA9\"}",
			"{\"k\":\"\xC3\xA9\",\"topic\":\"t\",\"seq\":7,\"epoch\":\"e\"}"),
	};

	(void)state;
	encode_table(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_msg_empty_payload_is_an_empty_string(void **state)
{
	struct out_msg *m = msg__from_mqtt("t", NULL, 0, "e", 7, 9, true);

	(void)state;
	assert_non_null(m);
	assert_string_equal(MSG_TEXT(m), WRAP("\"\""));
	assert_int_equal(m->payload_len, 0);
	assert_true(m->retained);
	msg__unref(m);
}

static void test_msg_type_and_notification_type_are_read(void **state)
{
	struct out_msg *m = encode("{\"type\":\"notification\",\"notification_type\":\"balance\"}");

	(void)state;
	assert_string_equal(m->type, "notification");
	assert_string_equal(m->ntype, "balance");
	msg__unref(m);
}

static void test_msg_type_defaults_to_message_and_notification_type_to_null(void **state)
{
	struct out_msg *a = encode("{\"type\":7,\"notification_type\":false}");
	struct out_msg *b = encode("{\"type\":\"\"}");
	struct out_msg *c = encode("[1]");

	(void)state;
	assert_string_equal(a->type, "message");
	assert_null(a->ntype);
	assert_string_equal(b->type, "message");
	assert_string_equal(c->type, "message");
	assert_null(c->ntype);
	msg__unref(a);
	msg__unref(b);
	msg__unref(c);
}

static void test_msg_from_json_prints_the_object_and_reads_its_type(void **state)
{
	cJSON *obj = cJSON_Parse("{\"type\":\"pong\",\"timestamp\":1}");
	struct out_msg *m;

	(void)state;
	assert_non_null(obj);
	m = msg__from_json(obj);
	cJSON_Delete(obj); /* the caller still owns it */
	assert_non_null(m);
	assert_string_equal(MSG_TEXT(m), "{\"type\":\"pong\",\"timestamp\":1}");
	assert_int_equal(m->len, strlen(MSG_TEXT(m)));
	assert_string_equal(m->type, "pong");
	assert_null(m->topic);
	assert_int_equal(m->seq + m->gseq, 0);
	assert_null(msg__from_json(NULL));
	msg__unref(m);
}

/* ==== msg: SSE and references ================================================================= */

static void test_msg_sse_form_is_exact_with_an_id_and_built_once(void **state)
{
	struct out_msg *m = encode("{\"type\":\"tick\"}");
	const char *want = "id: abc-42\nevent: tick\ndata: "
			   "{\"type\":\"tick\",\"topic\":\"t\",\"seq\":7,\"epoch\":\"e\"}\n\n";

	(void)state;
	sse_helper(m, "abc-42", want);
	sse_helper(m, "other", want); /* a later id is ignored */
	msg__unref(m);
}

static void test_msg_sse_form_is_exact_without_an_id(void **state)
{
	cJSON *obj = cJSON_Parse("{\"type\":\"pong\"}");
	struct out_msg *m = msg__from_json(obj);

	(void)state;
	cJSON_Delete(obj);
	assert_non_null(m);
	sse_helper(m, NULL, "event: pong\ndata: {\"type\":\"pong\"}\n\n");
	msg__unref(m);
}

static void test_msg_sse_event_name_and_id_never_contain_newlines(void **state)
{
	struct out_msg *m = encode("{\"type\":\"a\\r\\ndata: evil\\n\"}");

	(void)state;
	sse_helper(m, "1\n2",
		"id: 1_2\nevent: a__data: evil_\ndata: "
		"{\"type\":\"a\\r\\ndata: evil\\n\",\"topic\":\"t\",\"seq\":7,\"epoch\":\"e\"}\n\n");
	msg__unref(m);
}

static void test_msg_refcount_frees_at_zero(void **state)
{
	struct out_msg *m = encode("{}");
	size_t len;

	(void)state;
	assert_ptr_equal(msg__ref(m), m);
	assert_int_equal(m->refs, 2);
	assert_non_null(msg__sse(m, "1", &len)); /* freed with the rest */
	msg__unref(m);
	assert_int_equal(m->refs, 1);
	msg__unref(m); /* valgrind / ASan report a leak or a double free here */
	msg__unref(NULL);
}

/* The frame is header + the JSON text; the length takes 7, 16 or 64 bits (RFC 6455 5.2). */
static void test_msg_ws_frame_headers_by_length(void **state)
{
	static const size_t pads[] = {1, 200, 70000};
	size_t i, j, len;

	(void)state;
	for (i = 0; i < sizeof(pads) / sizeof(pads[0]); i++) {
		char *payload = malloc(pads[i] + 16);
		struct out_msg *m;
		unsigned char *f;
		size_t hlen;

		assert_non_null(payload);
		memset(payload, 'x', pads[i] + 15);
		memcpy(payload, "{\"p\":\"", 6);
		memcpy(payload + pads[i] + 6, "\"}", 3);
		m = encode(payload);
		f = msg__ws_frame(m, &len);
		hlen = m->len < 126 ? 2 : m->len < 65536 ? 4 : 10;
		assert_int_equal(len, hlen + m->len);
		assert_ptr_equal(f + hlen, m->buf + LWS_PRE);
		assert_int_equal(f[0], 0x81);
		if (hlen == 2) {
			assert_int_equal(f[1], m->len);
		} else if (hlen == 4) {
			assert_int_equal(f[1], 126);
			assert_int_equal((f[2] << 8) | f[3], m->len);
		} else {
			assert_int_equal(f[1], 127);
			for (len = 0, j = 0; j < 8; j++)
				len = len << 8 | f[2 + j];
			assert_int_equal(len, m->len);
		}
		assert_ptr_equal(msg__ws_frame(m, &len), f); /* built once, the same after */
		msg__unref(m);
		free(payload);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_object_payload_gets_topic_seq_and_epoch),
		cmocka_unit_test(test_msg_existing_topic_seq_and_epoch_are_replaced),
		cmocka_unit_test(test_msg_non_object_json_is_wrapped_with_the_parsed_value),
		cmocka_unit_test(test_msg_non_json_payload_is_wrapped_as_a_string),
		cmocka_unit_test(test_msg_invalid_utf8_is_replaced_and_the_output_parses),
		cmocka_unit_test(test_msg_valid_multibyte_utf8_is_kept),
		cmocka_unit_test(test_msg_empty_payload_is_an_empty_string),
		cmocka_unit_test(test_msg_type_and_notification_type_are_read),
		cmocka_unit_test(test_msg_type_defaults_to_message_and_notification_type_to_null),
		cmocka_unit_test(test_msg_from_json_prints_the_object_and_reads_its_type),
		cmocka_unit_test(test_msg_sse_form_is_exact_with_an_id_and_built_once),
		cmocka_unit_test(test_msg_sse_form_is_exact_without_an_id),
		cmocka_unit_test(test_msg_sse_event_name_and_id_never_contain_newlines),
		cmocka_unit_test(test_msg_refcount_frees_at_zero),
		cmocka_unit_test(test_msg_ws_frame_headers_by_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
