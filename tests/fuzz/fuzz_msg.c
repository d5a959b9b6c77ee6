/*
 * fuzz_msg.c - libFuzzer target for adapter/core/msg.c: an MQTT message from the
 * broker (any topic bytes, any payload bytes) encoded for WebSocket and SSE,
 * in the canonical form and in a few envelopes (nested, per-type keys, flat
 * overrides, renames).
 *
 * Input: the topic up to the first '\n' (or a fixed topic when there is no
 * newline), the payload after it. Besides crashes it checks msg.h's
 * promises for every form: the text is one JSON object, valid UTF-8, without
 * raw newlines, carrying our seq and topic; the SSE events (named and
 * unnamed) have exactly their framing newlines; the WebSocket frame header
 * matches the text. One thread.
 */
#include <libwebsockets.h>

#include "fuzz_util.h"
#include "msg.h"

/* Envelopes as profile.c builds them; the odd names test escaping and SSE fields. */
static struct env_rule nested_rules[] = {{"*", "data", NULL}};
static struct env_rule trading_rules[] = {{"price_update", "quote", "tick"},
	{"*", "da\"ta\n", NULL}, {"message", NULL, NULL}, {"notification", "n", NULL}};
static struct env_rule rename_rules[] = {
	{"notification", NULL, "alert"}, {"message", NULL, "msg\r\nevent: x"}};
static const struct envelope envs[] = {
	{0, NULL, 0}, {1, nested_rules, 1}, {2, trading_rules, 4}, {3, rename_rules, 2}};

static void check_text(const char *text, size_t len, uint64_t seq)
{
	const cJSON *item;
	cJSON *obj;

	FUZZ_ASSERT(text != NULL && strlen(text) == len);
	FUZZ_ASSERT(!memchr(text, '\n', len) && !memchr(text, '\r', len));
	FUZZ_ASSERT(fuzz_utf8_ok((const unsigned char *)text, len));
	obj = cJSON_ParseWithLength(text, len);
	FUZZ_ASSERT(cJSON_IsObject(obj));
	item = cJSON_GetObjectItemCaseSensitive(obj, "seq");
	FUZZ_ASSERT(cJSON_IsNumber(item) && item->valuedouble == (double)seq);
	item = cJSON_GetObjectItemCaseSensitive(obj, "topic");
	FUZZ_ASSERT(cJSON_IsString(item));
	item = cJSON_GetObjectItemCaseSensitive(obj, "type");
	FUZZ_ASSERT(cJSON_IsString(item) && *item->valuestring);
	cJSON_Delete(obj);
}

/* "id: ..\n" (with an id), "event: ..\n" (named), "data: ..\n\n": nothing else ends a line. */
static void check_sse(struct out_msg *m, const struct envelope *env, bool named, const char *id)
{
	size_t len, i, newlines = 0;
	unsigned char *ev = msg__sse_env(m, env, named, id, &len);
	const char *p;

	FUZZ_ASSERT(ev != NULL && len > 0);
	p = (const char *)ev + LWS_PRE;
	for (i = 0; i < len; i++)
		newlines += p[i] == '\n' || p[i] == '\r';
	FUZZ_ASSERT(newlines == 2u + (id != NULL) + named);
	FUZZ_ASSERT(!strncmp(p,
		id		? "id: "
			: named ? "event: "
				: "data: ",
		id		? 4
			: named ? 7
				: 6));
	FUZZ_ASSERT(p[len - 1] == '\n' && p[len - 2] == '\n');
}

/* The frame is a final text frame header followed by the form's own text. */
static void check_frame(struct out_msg *m, const struct envelope *env)
{
	size_t tlen, flen;
	const char *text = msg__text_env(m, env, &tlen);
	unsigned char *f = msg__ws_frame_env(m, env, &flen);
	size_t hlen = tlen < 126 ? 2 : tlen < 65536 ? 4 : 10;

	FUZZ_ASSERT(f != NULL && f[0] == 0x81 && flen == hlen + tlen);
	FUZZ_ASSERT((const char *)f + hlen == text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char *topic = nl ? fuzz_strndup(data, (size_t)(nl - data)) : strdup("market/AAPL");
	const uint8_t *payload = nl ? nl + 1 : data;
	size_t plen = nl ? size - (size_t)(nl + 1 - data) : size, i, len;
	struct out_msg *m;
	const char *text;

	if (!topic)
		abort();
	/* The topic doubles as the SSE id: CR/LF in it must not break the framing. */
	m = msg__from_mqtt(topic, payload, plen, size & 4 ? "notification" : NULL, size & 8,
		"5f3a9c01-1", 42, 7, size & 1);
	FUZZ_ASSERT(m != NULL && m->type && *m->type);
	check_text(MSG_TEXT(m), m->len, 42);
	for (i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
		text = msg__text_env(m, &envs[i], &len);
		check_text(text, len, 42);
		check_frame(m, &envs[i]);
		check_sse(m, &envs[i], true, size & 2 ? NULL : topic);
		check_sse(m, &envs[i], false, size & 2 ? NULL : topic);
	}
	msg__unref(msg__ref(m));
	msg__unref(m);
	free(topic);
	return 0;
}
