/*
 * msg.c - outgoing messages: an MQTT payload or a control object turned into
 * one JSON text (and, on demand, one SSE event) shared by reference.
 *
 * Every text this file produces is valid UTF-8 JSON with no raw newline, so it
 * can go out as a WebSocket text frame or one SSE "data:" line. It does not
 * decide who gets a message, nor number it (history.c gives seq and epoch).
 * lws thread only (cJSON's parse error state is global).
 */
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "msg.h"

/* U+FFFD REPLACEMENT CHARACTER, in UTF-8 */
#define REPLACEMENT "\xEF\xBF\xBD"
#define REPLACEMENT_LEN 3

/* ---- UTF-8 ------------------------------------------------------------------------ */

/*
 * Returns the length (1 to 4) of the well-formed UTF-8 sequence that starts
 * at s, or 0 if the bytes at s do not start one (stray continuation byte,
 * overlong form, surrogate, code point above U+10FFFF, or a sequence cut
 * short by the end). NUL counts as invalid: cJSON strings are C strings, so a
 * NUL would silently cut the text short.
 */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t need, i;

	if (s[0] < 0x80)
		return s[0] ? 1 : 0;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		need = 1;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		need = 2;
		lo = s[0] == 0xE0 ? 0xA0 : 0x80; /* overlong */
		hi = s[0] == 0xED ? 0x9F : 0xBF; /* surrogates */
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		need = 3;
		lo = s[0] == 0xF0 ? 0x90 : 0x80; /* overlong */
		hi = s[0] == 0xF4 ? 0x8F : 0xBF; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n <= need || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i <= need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	}
	return need + 1;
}

/* Returns true if the n bytes at s are well-formed UTF-8 without NUL bytes. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq_len(s + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

/*
 * Returns a NUL-terminated copy of the n bytes at s in which every byte that
 * does not start a well-formed sequence is replaced by U+FFFD (one per bad
 * byte). Free with free(). NULL on out of memory.
 */
static char *utf8_clean(const unsigned char *s, size_t n)
{
	size_t i = 0, k, o = 0;
	char *out;

	if (n > (SIZE_MAX - 1) / REPLACEMENT_LEN)
		return NULL;
	out = malloc(n * REPLACEMENT_LEN + 1);
	if (!out)
		return NULL;
	while (i < n) {
		k = utf8_seq_len(s + i, n - i);
		if (k) {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, REPLACEMENT, REPLACEMENT_LEN);
			o += REPLACEMENT_LEN;
			i++;
		}
	}
	out[o] = '\0';
	return out;
}

/* ---- building the JSON ------------------------------------------------------------ */

static bool json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Parses the payload as one JSON value, or returns NULL if it is not exactly
 * that. cJSON_ParseWithLength() stops after the first value and ignores what
 * follows ("12abc" would give 12), so trailing bytes are checked here. Only
 * valid UTF-8 is parsed: cJSON copies string bytes unchecked, and a text frame
 * with invalid UTF-8 makes browsers drop the WebSocket.
 */
static cJSON *parse_payload(const char *payload, size_t len)
{
	const char *end = NULL, *stop = payload + len;
	cJSON *v;

	if (!len || !utf8_valid((const unsigned char *)payload, len))
		return NULL;
	v = cJSON_ParseWithLengthOpts(payload, len, &end, 0);
	if (!v)
		return NULL;
	while (end && end < stop && json_space(*end))
		end++;
	if (end != stop) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

/*
 * Sets obj[name] = item, taking item (deleted on failure). Every member of
 * that name goes first, so a payload with duplicate keys cannot smuggle its
 * own "seq" past ours (JSON.parse keeps the last one). Returns 0 or -1.
 */
static int set_member(cJSON *obj, const char *name, cJSON *item)
{
	if (!item)
		return -1;
	while (cJSON_GetObjectItemCaseSensitive(obj, name))
		cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
	if (!cJSON_AddItemToObject(obj, name, item)) {
		cJSON_Delete(item);
		return -1;
	}
	return 0;
}

/* A JSON string item holding the payload bytes, invalid UTF-8 replaced. */
static cJSON *string_item(const void *payload, size_t len)
{
	char *text = utf8_clean(payload, len);
	cJSON *item;

	if (!text)
		return NULL;
	item = cJSON_CreateString(text);
	free(text);
	return item;
}

/*
 * Returns the object to print for an MQTT message: the payload object itself
 * with topic/seq/epoch set, or a {"type":"message",...,"payload":X} wrapper.
 * Free with cJSON_Delete(). NULL on out of memory.
 */
static cJSON *build_object(
	const char *topic, const void *payload, size_t len, const char *epoch, uint64_t seq)
{
	cJSON *value = parse_payload(payload, len), *obj = NULL;
	char *clean_topic = utf8_clean((const unsigned char *)topic, strlen(topic));
	bool wrap = !cJSON_IsObject(value);

	if (!clean_topic)
		goto error;
	if (wrap) {
		obj = cJSON_CreateObject();
		if (!obj || !cJSON_AddStringToObject(obj, "type", "message"))
			goto error;
	} else {
		obj = value;
		value = NULL;
	}
	if (set_member(obj, "topic", cJSON_CreateString(clean_topic)) ||
		set_member(obj, "seq", cJSON_CreateNumber((double)seq)) ||
		set_member(obj, "epoch", cJSON_CreateString(epoch)))
		goto error;
	if (wrap) {
		if (!value)
			value = string_item(payload, len);
		if (set_member(obj, "payload", value)) {
			value = NULL; /* set_member deleted it */
			goto error;
		}
		value = NULL;
	}
	free(clean_topic);
	return obj;
error:
	cJSON_Delete(value);
	cJSON_Delete(obj);
	free(clean_topic);
	return NULL;
}

/* ---- messages --------------------------------------------------------------------- */

static void msg_free(struct out_msg *m)
{
	if (!m)
		return;
	free(m->buf);
	free(m->sse);
	free(m->topic);
	free(m->type);
	free(m->ntype);
	free(m->payload);
	free(m);
}

/* Returns obj[name] if it is a string, else NULL. */
static const char *str_member(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

/*
 * Copies "type" (default "message", also for an empty one, which SSE would
 * read as "message" anyway) and "notification_type" out of obj, and notes a
 * final "status". Returns 0, or -1 on out of memory.
 */
static int read_types(struct out_msg *m, const cJSON *obj)
{
	const char *type = str_member(obj, "type");
	const char *ntype = str_member(obj, "notification_type");
	const char *status = str_member(obj, "status");

	m->final = status && (!strcmp(status, "completed") || !strcmp(status, "failed"));
	m->type = strdup(type && *type ? type : "message");
	if (!m->type)
		return -1;
	if (ntype) {
		m->ntype = strdup(ntype);
		if (!m->ntype)
			return -1;
	}
	return 0;
}

/* Prints obj into m->buf after LWS_PRE bytes of headroom. Returns 0 or -1 (OOM). */
static int print_text(struct out_msg *m, const cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);
	size_t n;

	if (!text)
		return -1;
	n = strlen(text);
	m->buf = malloc(LWS_PRE + n + 1);
	if (m->buf) {
		memcpy(m->buf + LWS_PRE, text, n + 1);
		m->len = n;
	}
	cJSON_free(text);
	return m->buf ? 0 : -1;
}

struct out_msg *msg__from_mqtt(const char *topic, const void *payload, size_t len,
	const char *epoch, uint64_t seq, uint64_t gseq, bool retained)
{
	struct out_msg *m = calloc(1, sizeof(*m));
	cJSON *obj = NULL;

	if (!m)
		return NULL;
	m->refs = 1;
	m->seq = seq;
	m->gseq = gseq;
	m->retained = retained;
	m->topic = strdup(topic);
	m->payload = malloc(len ? len : 1);
	if (!m->topic || !m->payload)
		goto error;
	if (len)
		memcpy(m->payload, payload, len);
	m->payload_len = len;
	obj = build_object(topic, payload, len, epoch, seq);
	if (!obj || read_types(m, obj) || print_text(m, obj))
		goto error;
	cJSON_Delete(obj);
	return m;
error:
	cJSON_Delete(obj);
	msg_free(m);
	return NULL;
}

struct out_msg *msg__from_json(const cJSON *obj)
{
	struct out_msg *m;

	if (!obj)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->refs = 1;
	if (read_types(m, obj) || print_text(m, obj)) {
		msg_free(m);
		return NULL;
	}
	return m;
}

struct out_msg *msg__ref(struct out_msg *m)
{
	if (m)
		m->refs++;
	return m;
}

void msg__unref(struct out_msg *m)
{
	if (!m || --m->refs > 0)
		return;
	msg_free(m);
}

/* ---- SSE -------------------------------------------------------------------------- */

/*
 * Copies n bytes of a header value to p, CR and LF replaced by '_': a newline
 * in an SSE field would end it and let the payload write its own fields.
 * Returns the end of what was written.
 */
static unsigned char *put_field(unsigned char *p, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		*p++ = (s[i] == '\r' || s[i] == '\n') ? '_' : (unsigned char)s[i];
	return p;
}

static unsigned char *put_raw(unsigned char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* Builds m->sse once; see msg__sse(). Returns 0 or -1 (OOM). */
static int build_sse(struct out_msg *m, const char *id)
{
	size_t idl = id ? strlen(id) : 0, tl = strlen(m->type);
	size_t n = (id ? 4 + idl + 1 : 0) + 7 + tl + 1 + 6 + m->len + 2;
	unsigned char *buf = malloc(LWS_PRE + n + 1), *p;

	if (!buf)
		return -1;
	p = buf + LWS_PRE;
	if (id) {
		p = put_raw(p, "id: ", 4);
		p = put_field(p, id, idl);
		p = put_raw(p, "\n", 1);
	}
	p = put_raw(p, "event: ", 7);
	p = put_field(p, m->type, tl);
	p = put_raw(p, "\ndata: ", 7);
	p = put_raw(p, MSG_TEXT(m), m->len);
	p = put_raw(p, "\n\n", 2);
	*p = '\0';
	m->sse = buf;
	m->sse_len = n;
	return 0;
}

/*
 * The SSE form is built on the first call and kept, so @id is only read then:
 * every caller passes the same id for a given message (it derives from the
 * message's gseq and the adapter epoch), and later ids are ignored.
 */
unsigned char *msg__sse(struct out_msg *m, const char *id, size_t *len)
{
	*len = 0;
	if (!m->sse && build_sse(m, id))
		return NULL;
	*len = m->sse_len;
	return m->sse;
}

/*
 * RFC 6455 5.2. lws_write() would write the same bytes into the headroom but
 * frames one message per call (one send() each); with the frame ready the
 * writer gathers several into one send() (ws.c write_frames()).
 */
unsigned char *msg__ws_frame(struct out_msg *m, size_t *len)
{
	unsigned char *h;
	size_t i;

	if (!m->ws_hlen) {
		m->ws_hlen = m->len < 126 ? 2 : m->len < 65536 ? 4 : 10;
		h = m->buf + LWS_PRE - m->ws_hlen;
		h[0] = 0x81; /* FIN, text */
		if (m->ws_hlen == 2) {
			h[1] = (unsigned char)m->len;
		} else if (m->ws_hlen == 4) {
			h[1] = 126;
			h[2] = (unsigned char)(m->len >> 8);
			h[3] = (unsigned char)m->len;
		} else {
			h[1] = 127;
			for (i = 0; i < 8; i++)
				h[2 + i] = (unsigned char)((uint64_t)m->len >> (56 - 8 * i));
		}
	}
	*len = m->ws_hlen + m->len;
	return m->buf + LWS_PRE - m->ws_hlen;
}
