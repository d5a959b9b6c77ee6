/*
 * fuzz_msg.c - libFuzzer target for adapter/msg.c: an MQTT message from the
 * broker (any topic bytes, any payload bytes) encoded for WebSocket and SSE.
 *
 * Input: the topic up to the first '\n' (or a fixed topic when there is no
 * newline), the payload after it. Besides crashes it checks msg.h's
 * promises: the text is one JSON object, valid UTF-8, without raw newlines,
 * carrying our seq; the SSE event has exactly its framing newlines. One
 * thread.
 */
#include <libwebsockets.h>

#include "fuzz_util.h"
#include "msg.h"

static void check_text(const struct out_msg *m, uint64_t seq)
{
	const char *text = MSG_TEXT(m);
	const cJSON *item;
	cJSON *obj;

	FUZZ_ASSERT(strlen(text) == m->len);
	FUZZ_ASSERT(!memchr(text, '\n', m->len) && !memchr(text, '\r', m->len));
	FUZZ_ASSERT(fuzz_utf8_ok((const unsigned char *)text, m->len));
	FUZZ_ASSERT(m->type && *m->type);
	obj = cJSON_ParseWithLength(text, m->len);
	FUZZ_ASSERT(cJSON_IsObject(obj));
	item = cJSON_GetObjectItemCaseSensitive(obj, "seq");
	FUZZ_ASSERT(cJSON_IsNumber(item) && item->valuedouble == (double)seq);
	item = cJSON_GetObjectItemCaseSensitive(obj, "topic");
	FUZZ_ASSERT(cJSON_IsString(item));
	cJSON_Delete(obj);
}

/* "id: ..\n" (with an id), "event: ..\n", "data: ..\n\n": nothing else may end a line. */
static void check_sse(struct out_msg *m, const char *id)
{
	size_t len, i, newlines = 0;
	unsigned char *ev = msg__sse(m, id, &len);
	const char *p;

	FUZZ_ASSERT(ev != NULL && len > 0);
	p = (const char *)ev + LWS_PRE;
	for (i = 0; i < len; i++)
		newlines += p[i] == '\n' || p[i] == '\r';
	FUZZ_ASSERT(newlines == (id ? 4u : 3u));
	FUZZ_ASSERT(!strncmp(p, id ? "id: " : "event: ", id ? 4 : 7));
	FUZZ_ASSERT(p[len - 1] == '\n' && p[len - 2] == '\n');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char *topic = nl ? fuzz_strndup(data, (size_t)(nl - data)) : strdup("market/AAPL");
	const uint8_t *payload = nl ? nl + 1 : data;
	size_t plen = nl ? size - (size_t)(nl + 1 - data) : size;
	struct out_msg *m;

	if (!topic)
		abort();
	/* The topic doubles as the SSE id: CR/LF in it must not break the framing. */
	m = msg__from_mqtt(topic, payload, plen, "5f3a9c01-1", 42, 7, size & 1);
	FUZZ_ASSERT(m != NULL);
	check_text(m, 42);
	check_sse(m, size & 2 ? NULL : topic);
	msg__unref(msg__ref(m));
	msg__unref(m);
	free(topic);
	return 0;
}
