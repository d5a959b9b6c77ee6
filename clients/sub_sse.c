/*
 * sub_sse.c - rtg-sub's SSE mode: the request headers (Accept, Authorization:
 * Bearer, Last-Event-ID, and the --header ones of both modes), the
 * event-stream parser that prints each event as {"id":..,"event":..,"data":..},
 * the "retry:" hint and the last id for a reconnection, and the report of an
 * answer that is not 200.
 *
 * It opens no connection (rtg_sub.c does) and does not speak WebSocket
 * (sub_ws.c). lws thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sub.h"

/* ==== SSE ===================================================================================== */

void sub__sse_reset_event(struct sub *s)
{
	free(s->ev_id);
	free(s->ev_event);
	s->ev_id = s->ev_event = NULL;
	s->ev_data.len = 0;
}

/*
 * Prints the event built so far as {"id":..,"event":..,"data":..} (the event
 * stream spec: no data lines, no event). Returns -1 when -C is reached.
 */
static int sse_dispatch(struct sub *s)
{
	cJSON *obj, *data;
	int rc = 0;

	if (!s->ev_data.len) {
		sub__sse_reset_event(s);
		return 0;
	}
	s->ev_data.p[--s->ev_data.len] = '\0'; /* the last data line's '\n' */
	data = cJSON_ParseWithOpts(s->ev_data.p, NULL, true);
	if (!data)
		data = cJSON_CreateString(s->ev_data.p);
	/* -q: the "connection" event is the greeting; skip it (and do not count it). */
	if (s->o.quiet && s->ev_event && !strcmp(s->ev_event, "connection")) {
		cJSON_Delete(data);
		sub__sse_reset_event(s);
		return 0;
	}
	/* the stream ends after either: the token expired, or its key was removed */
	if (s->ev_event &&
		(!strcmp(s->ev_event, "auth_expired") || !strcmp(s->ev_event, "auth_revoked")))
		s->auth_ended = true;
	obj = cJSON_CreateObject();
	if (!obj || !data || (s->ev_id && !cJSON_AddStringToObject(obj, "id", s->ev_id)) ||
		!cJSON_AddStringToObject(obj, "event", s->ev_event ? s->ev_event : "message") ||
		!cJSON_AddItemToObject(obj, "data", data)) {
		cJSON_Delete(data);
		fprintf(stderr, "rtg-sub: out of memory\n");
	} else {
		sub__print_json(obj);
		rc = sub__count_line(s);
	}
	cJSON_Delete(obj);
	sub__sse_reset_event(s);
	return rc;
}

static int replace_str(char **dst, const char *v)
{
	char *copy = strdup(v);

	if (!copy)
		return -1;
	free(*dst);
	*dst = copy;
	return 0;
}

/* Handles one line of the stream (without its end). Returns -1 to stop reading. */
static int sse_line(struct sub *s, char *line, size_t n)
{
	char *colon = memchr(line, ':', n), *v = colon ? colon + 1 : line + n;

	if (n == 0)
		return sse_dispatch(s);
	if (line[0] == ':') /* a comment: heartbeats */
		return 0;
	if (colon)
		*colon = '\0';
	if (*v == ' ')
		v++;
	if (!strcmp(line, "data")) {
		if (sub__buf_append(&s->ev_data, v, strlen(v), RTG_SUB_MAX_MESSAGE) ||
			sub__buf_append(&s->ev_data, "\n", 1, RTG_SUB_MAX_MESSAGE))
			goto too_big;
	} else if (!strcmp(line, "event")) {
		if (replace_str(&s->ev_event, v))
			goto too_big;
	} else if (!strcmp(line, "id")) {
		if (replace_str(&s->ev_id, v) || replace_str(&s->last_id, v))
			goto too_big;
	} else if (!strcmp(line, "retry") && v[0] && strspn(v, "0123456789") == strlen(v)) {
		s->retry_ms = strtol(v, NULL, 10);
	}
	return 0;
too_big:
	fprintf(stderr, "rtg-sub: SSE event over %u bytes or out of memory\n", RTG_SUB_MAX_MESSAGE);
	sub__finish(s, RTG_SUB_EXIT_ERROR);
	return -1;
}

/*
 * Feeds bytes of the stream: whole lines (ended by LF or CRLF) are handled,
 * the rest waits in s->rx for the next read. Returns -1 to close.
 */
static int sse_feed(struct sub *s, const char *in, size_t len)
{
	size_t start = 0, n;
	char *nl;

	if (sub__buf_append(&s->rx, in, len, RTG_SUB_MAX_MESSAGE)) {
		fprintf(stderr, "rtg-sub: SSE line over %u bytes\n", RTG_SUB_MAX_MESSAGE);
		sub__finish(s, RTG_SUB_EXIT_ERROR);
		return -1;
	}
	while (!s->done && (nl = memchr(s->rx.p + start, '\n', s->rx.len - start))) {
		n = (size_t)(nl - (s->rx.p + start));
		*nl = '\0';
		if (n && s->rx.p[start + n - 1] == '\r')
			s->rx.p[start + --n] = '\0';
		if (sse_line(s, s->rx.p + start, n))
			return -1;
		start = (size_t)(nl - s->rx.p) + 1;
	}
	memmove(s->rx.p, s->rx.p + start, s->rx.len - start);
	s->rx.len -= start;
	return 0;
}

/* Prints {"type":"_http_error","status":N,"body":..} from the body read so far. */
static void print_http_error(struct sub *s)
{
	cJSON *obj = cJSON_CreateObject(), *body = NULL;

	if (s->rx.len)
		body = cJSON_ParseWithOpts(s->rx.p, NULL, true);
	if (!body)
		body = cJSON_CreateString(s->rx.len ? s->rx.p : "");
	if (!obj || !body || !cJSON_AddStringToObject(obj, "type", "_http_error") ||
		!cJSON_AddNumberToObject(obj, "status", s->status) ||
		!cJSON_AddItemToObject(obj, "body", body)) {
		cJSON_Delete(body);
		fprintf(stderr, "rtg-sub: out of memory\n");
	} else {
		sub__print_json(obj);
	}
	cJSON_Delete(obj);
}

/* The SSE response ended: an error status, or the end of the stream. */
void sub__on_http_done(struct sub *s)
{
	if (sub__connection_gone(s))
		return;
	if (s->status == 200) {
		sub__report_close(0, s->auth_ended ? "authentication ended" : "end of stream");
		if (s->auth_ended) /* as a WebSocket's 4001: asking again would be refused */
			sub__finish(s, RTG_SUB_EXIT_AUTH);
		else
			sub__on_end(s, RTG_SUB_EXIT_CLOSED);
		return;
	}
	print_http_error(s);
	/* Only a server error may go away by asking again. */
	if (s->o.reconnect && s->status >= 500)
		sub__schedule_reconnect(s);
	else
		sub__finish(s, sub__http_exit(s->status));
}

/* ==== Request headers and body ================================================================ */

static int add_header(
	struct lws *wsi, const char *name, const char *value, unsigned char **p, unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
		(const unsigned char *)value, (int)strlen(value), p, end);
}

/* Adds the --header headers, and for SSE Accept, Authorization, Last-Event-ID. */
int sub__append_headers(struct sub *s, struct lws *wsi, unsigned char **p, unsigned char *end)
{
	const char *id = s->last_id ? s->last_id : s->o.last_event_id;
	char name[256], bearer[8192];
	int i;

	for (i = 0; i < s->o.nheaders; i++) {
		const char *h = s->o.headers[i], *colon = strchr(h, ':'), *v = colon + 1;

		snprintf(name, sizeof(name), "%.*s:", (int)(colon - h), h);
		while (*v == ' ' || *v == '\t')
			v++;
		if (add_header(wsi, name, v, p, end))
			return -1;
	}
	if (!s->o.sse)
		return 0;
	if (add_header(wsi, "Accept:", "text/event-stream", p, end) ||
		(id && add_header(wsi, "Last-Event-ID:", id, p, end)))
		return -1;
	if (!s->o.token)
		return 0;
	if (snprintf(bearer, sizeof(bearer), "Bearer %s", s->o.token) >= (int)sizeof(bearer))
		return -1;
	return add_header(wsi, "Authorization:", bearer, p, end);
}

/*
 * Reads HTTP body bytes: the event stream, or an error body (kept up to 1 MiB).
 * Once sub__finish() was called the rest is dropped; the main loop then ends.
 */
int sub__on_http_read(struct sub *s, const char *in, size_t len)
{
	if (s->done)
		return 0;
	if (s->status == 200) {
		(void)sse_feed(s, in, len);
		return 0;
	}
	(void)sub__buf_append(&s->rx, in, len, RTG_SUB_MAX_BODY);
	return 0;
}
