/*
 * msg.c - outgoing messages: an MQTT payload or a control object turned into
 * one JSON text shared by reference, and on demand its forms per endpoint
 * envelope (nested, renamed), its SSE events and its WebSocket frames.
 *
 * A publisher's JSON is spliced, never re-encoded (jtext.c): its bytes, with
 * our members appended, so numbers go out as published. Every text this file
 * produces is valid UTF-8 JSON with no raw newline, so it can go out as a
 * WebSocket text frame or one SSE "data:" line. It does not decide who gets a
 * message, nor number it (history.c gives seq and epoch), nor know endpoints
 * (the envelope is given). One thread only (cJSON's parse error state is global).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jtext.h"
#include "msg.h"
#include "rtg_json.h"

/*
 * The deepest payload taken as JSON: a nested envelope puts a wrapped value
 * two levels further down, and cJSON readers refuse texts deeper than 1000.
 */
#define MSG_MAX_DEPTH 998

/* One envelope's form of a data message; see msg.h, "Envelope forms". */
struct msg_form {
	uint32_t env_id;
	bool canonical; /* the envelope writes this message as the canonical form */
	char *type; /* the type it is sent as: the SSE event name */
	unsigned char ws_hlen; /* 0 until the frame header is written */
	size_t len;
	unsigned char *buf; /* MSG_PRE bytes, then the text, then a NUL */
	unsigned char *sse[2]; /* [0] named, [1] unnamed; MSG_PRE headroom; NULL until built */
	size_t sse_len[2];
};

/* ---- the payload ------------------------------------------------------------------------- */

/*
 * Parses the payload as one JSON value, or returns NULL if it is not exactly
 * that: payload[len] is a NUL, which cJSON must find right after the value
 * and its whitespace ("12abc" would otherwise give 12). Only valid UTF-8 is
 * parsed: cJSON copies string bytes unchecked, and a text frame with invalid
 * UTF-8 makes browsers drop the WebSocket, and only RFC 8259 numbers: the
 * spliced forms copy them as they are and refuse others (a payload with
 * "price":01 is text, in every form). A payload too long to be shallow is
 * checked for depth first (each level takes two bytes).
 */
static cJSON *parse_payload(const char *payload, size_t len)
{
	if (!len || !jtext__utf8_valid(payload, len) || !jtext__numbers_ok(payload, len))
		return NULL;
	if (len >= 2 * MSG_MAX_DEPTH && !jtext__depth_ok(payload, len, MSG_MAX_DEPTH))
		return NULL;
	return cJSON_ParseWithLengthOpts(payload, len + 1, NULL, 1);
}

/* Narrows [*s, *e) to the JSON value: without a byte order mark and the whitespace around. */
static void trim_value(const char **s, const char **e)
{
	if (*e - *s >= 3 && !memcmp(*s, "\xEF\xBB\xBF", 3))
		*s += 3;
	while (*s < *e && (unsigned char)**s <= ' ')
		(*s)++;
	while (*e > *s && (unsigned char)(*e)[-1] <= ' ')
		(*e)--;
}

/*
 * Copies "type" (dflt when missing, not a string or empty, which SSE would
 * read as "message" anyway) and "notification_type" out of obj (NULL: none),
 * and notes a final "status". Returns 0, or -1 on out of memory.
 */
static int read_types(struct out_msg *m, const cJSON *obj, const char *dflt)
{
	const char *type = rtg_json_get_string(obj, "type");
	const char *ntype = rtg_json_get_string(obj, "notification_type");
	const char *status = rtg_json_get_string(obj, "status");

	m->final = status && (!strcmp(status, "completed") || !strcmp(status, "failed"));
	m->type = strdup(type && *type ? type : dflt);
	if (!m->type)
		return -1;
	if (ntype) {
		m->ntype = strdup(ntype);
		if (!m->ntype)
			return -1;
	}
	return 0;
}

/* ---- the canonical text ------------------------------------------------------------------ */

/* Appends "topic":..,"seq":..,"epoch":..} and notes where "topic" starts (m->tail). */
static void put_tail(struct out_msg *m, struct jtext_buf *b, const char *epoch)
{
	size_t at, n;

	jtext__put_key(b, "topic");
	m->tail = b->len - strlen("\"topic\":");
	jtext__put_string(b, m->topic, strlen(m->topic));
	jtext__put(b, ",\"seq\":", 7);
	jtext__put_u64(b, m->seq);
	jtext__put(b, ",\"epoch\":", 9);
	at = b->len;
	jtext__put_string(b, epoch, strlen(epoch));
	n = b->len - at - 2; /* without the quotes */
	m->epoch_len = n <= UCHAR_MAX ? (unsigned char)n : 0;
	jtext__put(b, "}", 1);
}

const char *msg__epoch(const struct out_msg *m, char *buf, size_t len)
{
	/* the text ends with "epoch":"<epoch>"} (put_tail()) */
	const char *e = "";
	int n = 0;

	if (m->topic && m->len >= (size_t)m->epoch_len + 2) {
		e = MSG_TEXT(m) + m->len - 2 - m->epoch_len;
		n = m->epoch_len;
	}
	snprintf(buf, len, "%.*s", n, e);
	return buf;
}

/*
 * A JSON object payload: its members as published, ours dropped from them
 * (cJSON readers take the first of duplicate keys, JavaScript the last, so
 * ours must be the only ones), then "type" if the object has no usable one.
 */
static void put_object(struct out_msg *m, struct jtext_buf *b, const cJSON *obj, const char *dflt,
	const char *epoch)
{
	static const char *const drop[] = {"topic", "seq", "epoch", "type"};
	const char *own = rtg_json_get_string(obj, "type");
	bool keep_type = own && *own;

	jtext__copy_except(b, (const char *)m->payload, m->payload_len, drop, keep_type ? 3 : 4);
	if (!keep_type) {
		jtext__put_key(b, "type");
		jtext__put_string(b, dflt, strlen(dflt));
	}
	put_tail(m, b, epoch);
}

/* Another JSON value: {"type":T,["message":<string>,]"payload":<value>,...}. */
static void put_value(struct out_msg *m, struct jtext_buf *b, const cJSON *value, const char *type,
	const char *epoch)
{
	const char *s = (const char *)m->payload, *e = s + m->payload_len;

	trim_value(&s, &e);
	jtext__put(b, "{", 1);
	jtext__put_key(b, "type");
	jtext__put_string(b, type, strlen(type));
	if (cJSON_IsString(value)) {
		jtext__put_key(b, "message");
		jtext__put_json(b, s, (size_t)(e - s));
	}
	jtext__put_key(b, "payload");
	jtext__put_json(b, s, (size_t)(e - s));
	put_tail(m, b, epoch);
}

/* Not JSON: {"type":T,"message":"<text>","payload":"<text>",...}. */
static void put_text(struct out_msg *m, struct jtext_buf *b, const char *type, const char *epoch)
{
	const char *text = (const char *)m->payload;

	jtext__put(b, "{", 1);
	jtext__put_key(b, "type");
	jtext__put_string(b, type, strlen(type));
	jtext__put_key(b, "message");
	jtext__put_string(b, text, m->payload_len);
	jtext__put_key(b, "payload");
	jtext__put_string(b, text, m->payload_len);
	put_tail(m, b, epoch);
}

/*
 * Builds m's canonical text into m->buf, and its type, notification type and
 * final flag. A JSON payload whose numbers strict JSON refuses (cJSON read
 * them with strtod) is taken as text: re-encoding would betray the publisher's
 * bytes, and browsers refuse it as it is. Returns 0, or -1 on out of memory.
 */
static int build_text(struct out_msg *m, const cJSON *json, const char *dflt, const char *epoch)
{
	size_t extra = strlen(m->topic) + strlen(epoch) + strlen(dflt) + 64;
	struct jtext_buf b;

	jtext__buf_init(&b, MSG_PRE);
	jtext__buf_reserve(&b, (cJSON_IsObject(json) ? 1 : 2) * m->payload_len + extra);
	if (cJSON_IsObject(json))
		put_object(m, &b, json, dflt, epoch);
	else if (json)
		put_value(m, &b, json, dflt, epoch);
	if (b.err == RTG_ERR_INVAL) {
		jtext__buf_cleanup(&b);
		json = NULL;
	}
	if (!json)
		put_text(m, &b, dflt, epoch);
	m->object = cJSON_IsObject(json);
	m->buf = (unsigned char *)jtext__buf_take(&b, &m->len);
	if (!m->buf)
		return -1;
	return read_types(m, m->object ? json : NULL, dflt);
}

/* ---- messages ---------------------------------------------------------------------------- */

static void form_cleanup(struct msg_form *f)
{
	free(f->type);
	free(f->buf);
	free(f->sse[0]);
	free(f->sse[1]);
}

static void msg_free(struct out_msg *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nforms; i++)
		form_cleanup(&m->forms[i]);
	free(m->forms);
	free(m->buf);
	free(m->sse);
	free(m->sse_unnamed);
	free(m->sse_id);
	free(m->topic);
	free(m->type);
	free(m->ntype);
	free(m->payload);
	free(m);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts); /* cannot fail with this clock */
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct out_msg *msg__from_mqtt(const char *topic, const void *payload, size_t len,
	const char *default_type, bool value, const char *epoch, uint64_t seq, uint64_t gseq,
	bool retained)
{
	struct out_msg *m = calloc(1, sizeof(*m));
	cJSON *json = NULL;

	if (!m)
		return NULL;
	m->refs = 1;
	m->seq = seq;
	m->gseq = gseq;
	m->retained = retained;
	m->value = value;
	m->made_ms = now_ms();
	m->topic = strdup(topic);
	m->payload = malloc(len + 1);
	if (!m->topic || !m->payload)
		goto error;
	if (len)
		memcpy(m->payload, payload, len);
	m->payload[len] = '\0'; /* for parse_payload() */
	m->payload_len = len;
	json = parse_payload((const char *)m->payload, len);
	if (build_text(m, json, default_type && *default_type ? default_type : "message", epoch))
		goto error;
	cJSON_Delete(json);
	return m;
error:
	cJSON_Delete(json);
	msg_free(m);
	return NULL;
}

/* Control messages are printed by cJSON: they are ours, with no publisher's bytes to keep. */
struct out_msg *msg__from_json(const cJSON *obj)
{
	struct out_msg *m = obj ? calloc(1, sizeof(*m)) : NULL;
	char *text = m ? cJSON_PrintUnformatted(obj) : NULL;

	if (text) {
		m->refs = 1;
		m->len = strlen(text);
		m->buf = malloc(MSG_PRE + m->len + 1);
	}
	if (!text || !m->buf || read_types(m, obj, "message")) {
		cJSON_free(text);
		msg_free(m);
		return NULL;
	}
	memcpy(m->buf + MSG_PRE, text, m->len + 1);
	cJSON_free(text);
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

/* ---- envelope forms ---------------------------------------------------------------------- */

/* The rule of env for type, else its "*" rule, else NULL. */
static const struct env_rule *find_rule(const struct envelope *env, const char *type)
{
	const struct env_rule *star = NULL;
	size_t i;

	for (i = 0; i < env->nrules; i++) {
		if (!strcmp(env->rules[i].type, type))
			return &env->rules[i];
		if (!star && !strcmp(env->rules[i].type, "*"))
			star = &env->rules[i];
	}
	return star;
}

/*
 * Writes ms since 1970 as "2026-11-22T03:40:00.123Z" (UTC), with Howard
 * Hinnant's civil_from_days(): no gmtime_r(), which takes glibc's time zone lock.
 */
static void iso_time(int64_t ms, char *out, size_t len)
{
	int64_t s = ms > 0 ? ms / 1000 : 0, days = s / 86400, sod = s % 86400;
	int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	int day = (int)(doy - (153 * mp + 2) / 5 + 1), mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	int year = (int)(yoe + era * 400 + (mon <= 2));

	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, mon, day, (int)(sod / 3600),
		(int)(sod / 60 % 60), (int)(sod % 60), (int)(ms > 0 ? ms % 1000 : 0));
}

/*
 * Appends the nested "timestamp" value: the payload object's first top-level
 * member named "timestamp" (the one cJSON readers see) if it is a string, as
 * published, else when the message was made.
 */
static void put_timestamp(const struct out_msg *m, struct jtext_buf *b)
{
	struct jtext_iter it;
	struct jtext_member mem;
	char iso[40];

	if (m->object && jtext__members(&it, (const char *)m->payload, m->payload_len)) {
		while (jtext__next(&it, &mem) > 0) {
			if (!jtext__key_is(mem.key, mem.key_len, "timestamp"))
				continue;
			if (mem.value[0] == '"') {
				jtext__put_json(b, mem.value, mem.value_len);
				return;
			}
			break;
		}
	}
	iso_time(m->made_ms, iso, sizeof(iso));
	jtext__put_string(b, iso, strlen(iso));
}

/* {"type":<type>,"<key>":<inner>,"timestamp":..,"topic":..,"seq":..,"epoch":..} */
static void put_nested(struct out_msg *m, struct jtext_buf *b, const char *type, const char *key)
{
	const char *text = MSG_TEXT(m), *s = (const char *)m->payload, *e = s + m->payload_len;

	jtext__put(b, "{", 1);
	jtext__put_key(b, "type");
	jtext__put_string(b, type, strlen(type));
	jtext__put_key(b, key);
	if (m->object) {
		trim_value(&s, &e);
		jtext__put_json(b, s, (size_t)(e - s));
	} else {
		/* the canonical wrapper up to the comma before "topic", closed */
		jtext__put(b, text, m->tail - 1);
		jtext__put(b, "}", 1);
	}
	jtext__put_key(b, "timestamp");
	put_timestamp(m, b);
	jtext__put(b, ",", 1);
	jtext__put(b, text + m->tail, m->len - m->tail);
}

/* The canonical text with its "type" member(s) replaced by "type":<type>. */
static void put_renamed(struct out_msg *m, struct jtext_buf *b, const char *type)
{
	static const char *const drop[] = {"type"};

	jtext__copy_except(b, MSG_TEXT(m), m->len, drop, 1);
	jtext__put_key(b, "type");
	jtext__put_string(b, type, strlen(type));
	jtext__put(b, "}", 1);
}

/* Fills f, the form of m in env. Returns 0, or -1 on out of memory. */
static int build_form(struct out_msg *m, const struct envelope *env, struct msg_form *f)
{
	const struct env_rule *rule = find_rule(env, m->type);
	const char *nest = rule ? rule->nest : NULL;
	const char *type = rule && rule->rename ? rule->rename : m->type;
	struct jtext_buf b;

	if (!nest && !strcmp(type, m->type)) {
		f->canonical = true;
		return 0;
	}
	f->type = strdup(type);
	if (!f->type)
		return -1;
	jtext__buf_init(&b, MSG_PRE);
	jtext__buf_reserve(&b, m->len + (nest ? m->payload_len + strlen(nest) : 0) + 96);
	if (nest)
		put_nested(m, &b, type, nest);
	else
		put_renamed(m, &b, type);
	f->buf = (unsigned char *)jtext__buf_take(&b, &f->len);
	return f->buf ? 0 : -1;
}

/*
 * Sets *out to the form of m in env, building it on first use, or to NULL
 * when that is the canonical form. Returns 0, or -1 on out of memory (the
 * next call tries again).
 */
static int find_form(struct out_msg *m, const struct envelope *env, struct msg_form **out)
{
	struct msg_form *f;
	size_t i;

	*out = NULL;
	if (!env || !env->id || !m->topic)
		return 0;
	for (i = 0; i < m->nforms && m->forms[i].env_id != env->id; i++)
		;
	if (i == m->nforms) {
		f = realloc(m->forms, (m->nforms + 1) * sizeof(*f));
		if (!f)
			return -1;
		m->forms = f;
		f = &m->forms[i];
		*f = (struct msg_form){.env_id = env->id};
		if (build_form(m, env, f)) {
			form_cleanup(f);
			return -1;
		}
		m->nforms++;
	}
	if (!m->forms[i].canonical)
		*out = &m->forms[i];
	return 0;
}

const char *msg__text_env(struct out_msg *m, const struct envelope *env, size_t *len)
{
	struct msg_form *f;

	*len = 0;
	if (find_form(m, env, &f))
		return NULL;
	*len = f ? f->len : m->len;
	return f ? (const char *)f->buf + MSG_PRE : MSG_TEXT(m);
}

/* ---- SSE --------------------------------------------------------------------------------- */

/*
 * Writes "<name>: <value>\n" at p, CR and LF in the value replaced by '_': a
 * newline in an SSE field would end it and let the payload write its own
 * fields. Returns the end of what was written.
 */
static unsigned char *put_field(unsigned char *p, const char *name, const char *v, size_t n)
{
	size_t i;

	p = (unsigned char *)stpcpy((char *)p, name);
	for (i = 0; i < n; i++)
		*p++ = (v[i] == '\r' || v[i] == '\n') ? '_' : (unsigned char)v[i];
	*p++ = '\n';
	return p;
}

/*
 * Returns a new SSE event after MSG_PRE bytes of headroom: "id: <id>\n" if
 * id, "event: <event>\n" if event, "data: <text>\n\n"; NULL on out of memory.
 */
static unsigned char *make_sse(
	const char *id, const char *event, const char *text, size_t tlen, size_t *len)
{
	size_t idl = id ? strlen(id) : 0, el = event ? strlen(event) : 0;
	size_t n = (id ? 4 + idl + 1 : 0) + (event ? 7 + el + 1 : 0) + 6 + tlen + 2;
	unsigned char *buf = malloc(MSG_PRE + n + 1), *p;

	if (!buf)
		return NULL;
	p = buf + MSG_PRE;
	if (id)
		p = put_field(p, "id: ", id, idl);
	if (event)
		p = put_field(p, "event: ", event, el);
	p = put_field(p, "data: ", text, tlen); /* the text has no newline */
	memcpy(p, "\n", 2);
	*len = n;
	return buf;
}

/*
 * Every SSE event of a message is built on its first call and kept, so the id
 * is only read on the message's first SSE call of any form: every caller
 * passes the same id for a given message (it derives from the message's gseq
 * and the adapter epoch), and later ids are ignored.
 */
unsigned char *msg__sse_env(
	struct out_msg *m, const struct envelope *env, bool named, const char *id, size_t *len)
{
	struct msg_form *f;
	unsigned char **sse;
	size_t *sse_len;

	*len = 0;
	if (find_form(m, env, &f))
		return NULL;
	sse = f ? &f->sse[!named] : named ? &m->sse : &m->sse_unnamed;
	sse_len = f ? &f->sse_len[!named] : named ? &m->sse_len : &m->sse_unnamed_len;
	if (!*sse && !m->sse_id_set) {
		m->sse_id = id ? strdup(id) : NULL;
		if (id && !m->sse_id)
			return NULL;
		m->sse_id_set = true;
	}
	if (!*sse && f)
		*sse = make_sse(m->sse_id, named ? f->type : NULL, (const char *)f->buf + MSG_PRE,
			f->len, sse_len);
	else if (!*sse)
		*sse = make_sse(m->sse_id, named ? m->type : NULL, MSG_TEXT(m), m->len, sse_len);
	if (!*sse)
		return NULL;
	*len = *sse_len;
	return *sse;
}

unsigned char *msg__sse(struct out_msg *m, const char *id, size_t *len)
{
	return msg__sse_env(m, NULL, true, id, len);
}

/* ---- WebSocket frames -------------------------------------------------------------------- */

/*
 * RFC 6455 5.2. lws_write() would write the same bytes into the headroom but
 * frames one message per call (one send() each); with the frame ready the
 * writer gathers several into one send() (ws.c write_frames()). buf holds
 * MSG_PRE bytes and then the len bytes of text; *hlen is 0 until the header
 * is written. Returns the frame; *flen is its length.
 */
static unsigned char *ws_frame(unsigned char *buf, size_t len, unsigned char *hlen, size_t *flen)
{
	unsigned char *h;
	size_t i;

	if (!*hlen) {
		*hlen = len < 126 ? 2 : len < 65536 ? 4 : 10;
		h = buf + MSG_PRE - *hlen;
		h[0] = 0x81; /* FIN, text */
		h[1] = *hlen == 2 ? (unsigned char)len : *hlen == 4 ? 126 : 127;
		for (i = 2; i < *hlen; i++) /* the 16 or 64-bit length, big-endian */
			h[i] = (unsigned char)((uint64_t)len >> (8 * (*hlen - 1 - i)));
	}
	*flen = *hlen + len;
	return buf + MSG_PRE - *hlen;
}

unsigned char *msg__ws_frame(struct out_msg *m, size_t *len)
{
	return ws_frame(m->buf, m->len, &m->ws_hlen, len);
}

unsigned char *msg__ws_frame_env(struct out_msg *m, const struct envelope *env, size_t *len)
{
	struct msg_form *f;

	*len = 0;
	if (find_form(m, env, &f))
		return NULL;
	if (!f)
		return msg__ws_frame(m, len);
	return ws_frame(f->buf, f->len, &f->ws_hlen, len);
}
