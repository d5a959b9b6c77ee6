/*
 * rtg_sub.c - rtg-sub, a command-line client of the adapter in the manner of
 * mosquitto_sub: it opens a WebSocket (or an SSE stream with --sse), sends the
 * MESSAGE arguments and prints everything received as one JSON line each.
 * With --reconnect it comes back with backoff and asks to resume each topic
 * subscription from the last position seen ("since").
 *
 * It does not speak TLS, and it understands no more of the protocol than
 * "since" needs. One thread: all of it runs in the lws event loop except the
 * signal handler, which only sets a flag and wakes the loop.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>

#define RTG_SUB_MAX_MESSAGE (16u * 1024 * 1024) /* a WS message, an SSE line or event */
#define RTG_SUB_MAX_BODY (1024u * 1024) /* an HTTP error body (truncated beyond) */
#define RTG_SUB_MAX_TOPICS 10000 /* positions remembered for "since" */
#define RTG_SUB_EXIT_CLOSED 4
#define RTG_SUB_EXIT_TIMEOUT 27 /* mosquitto_sub's status for -W */

struct sub_opts {
	const char *host, *path, *token, *token_file, *last_event_id;
	int port, count, wait_s;
	bool sse, quiet, auth_message, reconnect, debug;
	const char **headers; /* "Name: value" */
	int nheaders;
	const char **messages;
	int nmessages;
	char *token_buf; /* the --token-file contents */
};

struct buf {
	char *p;
	size_t len, cap;
};

/* The last message seen on one topic: what "since" resumes from. */
struct position {
	char *topic;
	cJSON *epoch; /* NULL until a message with an epoch was seen */
	double seq;
};

struct sub {
	struct sub_opts o;
	struct lws_context *ctx;
	struct lws *wsi;
	lws_sorted_usec_list_t sul_connect, sul_wait, sul_grace;
	char *path; /* the request path, with ?token= when it goes there */
	/* this connection */
	bool live; /* between connect and its end, which is handled once */
	bool established; /* the WebSocket is open */
	bool greeting_pending; /* the next message is the connection's first */
	bool close_seen; /* the server's close frame was reported */
	int next_out; /* the next MESSAGE to send; -1: the auth message */
	int status; /* HTTP status of the response */
	int close_code; /* what finish() closes the WebSocket with */
	struct buf rx; /* partial WS message, SSE lines, or an error body */
	struct buf ev_data; /* the SSE event being built */
	char *ev_id, *ev_event;
	/* across connections */
	int printed, exit_code;
	bool done;
	unsigned backoff_ms;
	long retry_ms; /* the SSE "retry:" value, 0 if none */
	char *last_id; /* the SSE id to resume from */
	struct position *pos; /* sorted by topic */
	size_t npos, cappos;
	bool pos_full_warned;
};

static volatile sig_atomic_t interrupted;
static struct lws_context *signal_ctx;

static void usage(FILE *fp)
{
	fputs("Usage: rtg-sub [options] [MESSAGE ...]\n"
	      "Prints every message from the realtime gateway as one JSON line.\n\n"
	      "  -h, --host HOST      adapter host (default 127.0.0.1)\n"
	      "  -p, --port PORT      adapter port (default 8000)\n"
	      "  --path PATH          request path (default /ws, or /sse with --sse); SSE topics\n"
	      "                       go in it: --path '/sse?topic=market/AAPL&topic=system/%23'\n"
	      "  --token T            WebSocket: sent as ?token=T; SSE: Authorization: Bearer T\n"
	      "  --token-file F       read the token from F\n"
	      "  --auth-message       WebSocket: send {\"type\":\"auth\",\"token\":T} first instead\n"
	      "  --header 'N: V'      add a request header (repeatable: Cookie, Origin...)\n"
	      "  --sse                read a Server-Sent Events stream instead of a WebSocket\n"
	      "  --last-event-id ID   SSE: resume after ID (Last-Event-ID header)\n"
	      "  -C, --count COUNT    exit after printing COUNT messages (SSE: events)\n"
	      "  -W, --wait SECONDS   exit after SECONDS\n"
	      "  -q, --quiet          do not print the greeting ({\"type\":\"connection\",...})\n"
	      "  --reconnect          on close or failure reconnect (1 s, x1.5 up to 30 s, +0-20%)\n"
	      "                       and resend the MESSAGEs, each topic subscribe with \"since\"\n"
	      "                       (SSE: with Last-Event-ID); a 4xx SSE answer still ends it\n"
	      "  -d, --debug          print the libwebsockets log on stderr\n"
	      "  --help               print this help\n\n"
	      "MESSAGE: a JSON text sent as one text frame once connected, in order (as given,\n"
	      "even if it is not JSON). Not used with --sse.\n"
	      "Output: messages as received; SSE events as {\"id\":..,\"event\":..,\"data\":..}\n"
	      "(data parsed as JSON when it is JSON; id only when the event has one). Lines of\n"
	      "rtg-sub's own have a type starting with '_': {\"type\":\"_closed\",\"code\":N,\n"
	      "\"reason\":..} when the server ends the connection (1006: without a close frame;\n"
	      "SSE: no code), {\"type\":\"_http_error\",\"status\":N,\"body\":..} when SSE gets no\n"
	      "200, {\"type\":\"_binary\",\"length\":N} for a binary frame.\n"
	      "-C counts the lines from the server that are printed (not -q's greeting).\n\n"
	      "Exit status: 0 when COUNT is reached, or without -C when the connection ends,\n"
	      "-W expires or SIGINT/SIGTERM arrives; 1 on a usage error or a failed connection\n"
	      "(without --reconnect); 4 when the server ends the connection, or SSE gets no\n"
	      "200, before COUNT; 27 when -W expires before COUNT.\n",
		fp);
}

/* ==== Options ================================================================================= */

enum arg_kind { ARG_STR, ARG_INT, ARG_FLAG, ARG_HEADER };

struct arg_def {
	const char *shrt, *lng;
	enum arg_kind kind;
	size_t off;
	int min, max;
};

#define OPT(f) offsetof(struct sub_opts, f)

static const struct arg_def arg_defs[] = {
	{"-h", "--host", ARG_STR, OPT(host), 0, 0},
	{"-p", "--port", ARG_INT, OPT(port), 1, 65535},
	{NULL, "--path", ARG_STR, OPT(path), 0, 0},
	{NULL, "--token", ARG_STR, OPT(token), 0, 0},
	{NULL, "--token-file", ARG_STR, OPT(token_file), 0, 0},
	{NULL, "--auth-message", ARG_FLAG, OPT(auth_message), 0, 0},
	{NULL, "--header", ARG_HEADER, 0, 0, 0},
	{NULL, "--sse", ARG_FLAG, OPT(sse), 0, 0},
	{NULL, "--last-event-id", ARG_STR, OPT(last_event_id), 0, 0},
	{"-C", "--count", ARG_INT, OPT(count), 1, 1000000000},
	{"-W", "--wait", ARG_INT, OPT(wait_s), 1, 31536000},
	{"-q", "--quiet", ARG_FLAG, OPT(quiet), 0, 0},
	{NULL, "--reconnect", ARG_FLAG, OPT(reconnect), 0, 0},
	{"-d", "--debug", ARG_FLAG, OPT(debug), 0, 0},
};

static const struct arg_def *find_arg(const char *a)
{
	size_t i;

	for (i = 0; i < sizeof(arg_defs) / sizeof(arg_defs[0]); i++) {
		if ((arg_defs[i].shrt && !strcmp(a, arg_defs[i].shrt)) ||
			!strcmp(a, arg_defs[i].lng))
			return &arg_defs[i];
	}
	return NULL;
}

/* Applies one option with its value @v (NULL for flags). Returns 0 or -1. */
static int set_arg(struct sub_opts *o, const struct arg_def *d, const char *a, const char *v)
{
	char *end;
	long n;

	switch (d->kind) {
	case ARG_FLAG:
		*(bool *)((char *)o + d->off) = true;
		return 0;
	case ARG_STR:
		*(const char **)((char *)o + d->off) = v;
		return 0;
	case ARG_HEADER:
		if (!strchr(v, ':') || v[0] == ':') {
			fprintf(stderr, "rtg-sub: %s: '%s' is not 'Name: value'\n", a, v);
			return -1;
		}
		o->headers[o->nheaders++] = v;
		return 0;
	case ARG_INT:
		errno = 0;
		n = strtol(v, &end, 10);
		if (end == v || *end || errno || n < d->min || n > d->max) {
			fprintf(stderr, "rtg-sub: %s: '%s' is not a number in %d-%d\n", a, v,
				d->min, d->max);
			return -1;
		}
		*(int *)((char *)o + d->off) = (int)n;
		return 0;
	}
	return -1;
}

static int check_opts(const struct sub_opts *o)
{
	const char *why = NULL;

	if (o->token && o->token_file)
		why = "--token and --token-file exclude each other";
	else if (o->auth_message && (o->sse || (!o->token && !o->token_file)))
		why = "--auth-message needs a WebSocket and a token";
	else if (o->sse && o->nmessages)
		why = "MESSAGE arguments are not used with --sse (put topics in --path)";
	else if (o->last_event_id && !o->sse)
		why = "--last-event-id is for --sse";
	if (why)
		fprintf(stderr, "rtg-sub: %s\n", why);
	return why ? -1 : 0;
}

/* Parses argv into @o. Returns 0 to run, 1 on a usage error, 2 after --help. */
static int parse_args(struct sub_opts *o, int argc, char **argv)
{
	bool rest = false;
	int i;

	o->host = "127.0.0.1";
	o->port = 8000;
	o->headers = calloc((size_t)argc, sizeof(*o->headers));
	o->messages = calloc((size_t)argc, sizeof(*o->messages));
	if (!o->headers || !o->messages) {
		fprintf(stderr, "rtg-sub: out of memory\n");
		return 1;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct arg_def *d;

		if (rest || a[0] != '-' || !a[1]) {
			o->messages[o->nmessages++] = a;
		} else if (!strcmp(a, "--")) {
			rest = true;
		} else if (!strcmp(a, "--help")) {
			usage(stdout);
			return 2;
		} else if (!(d = find_arg(a))) {
			fprintf(stderr, "rtg-sub: %s: unknown option (see --help)\n", a);
			return 1;
		} else if (d->kind != ARG_FLAG && i + 1 >= argc) {
			fprintf(stderr, "rtg-sub: %s: missing value\n", a);
			return 1;
		} else if (set_arg(o, d, a, d->kind == ARG_FLAG ? NULL : argv[++i])) {
			return 1;
		}
	}
	if (!o->path)
		o->path = o->sse ? "/sse" : "/ws";
	return check_opts(o) ? 1 : 0;
}

/* Reads the token file into o->token, trailing blanks dropped. Returns 0 or -1. */
static int read_token_file(struct sub_opts *o)
{
	FILE *fp = fopen(o->token_file, "r");
	size_t n;

	if (!fp) {
		fprintf(stderr, "rtg-sub: %s: %s\n", o->token_file, strerror(errno));
		return -1;
	}
	o->token_buf = malloc(65536);
	n = o->token_buf ? fread(o->token_buf, 1, 65535, fp) : 0;
	fclose(fp);
	if (!o->token_buf) {
		fprintf(stderr, "rtg-sub: out of memory\n");
		return -1;
	}
	while (n && strchr(" \t\r\n", o->token_buf[n - 1]))
		n--;
	o->token_buf[n] = '\0';
	o->token = o->token_buf;
	return 0;
}

/* Makes s->path: o->path, plus token=T (percent-encoded) for a WebSocket. */
static int build_path(struct sub *s)
{
	const char *t = s->o.token, *hex = "0123456789ABCDEF";
	size_t n = strlen(s->o.path);
	char *p;

	s->path = malloc(n + 8 + (t ? 3 * strlen(t) : 0) + 1);
	if (!s->path)
		return -1;
	p = s->path + n;
	memcpy(s->path, s->o.path, n + 1);
	if (!t || s->o.sse || s->o.auth_message)
		return 0;
	p += sprintf(p, "%ctoken=", strchr(s->o.path, '?') ? '&' : '?');
	for (; *t; t++) {
		unsigned char c = (unsigned char)*t;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			strchr("-._~", c)) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return 0;
}

/* ==== Output ================================================================================== */

static int buf_append(struct buf *b, const void *data, size_t n, size_t max)
{
	char *p;
	size_t cap;

	if (b->len + n + 1 > max)
		return -1;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static void stop_waiting(lws_sorted_usec_list_t *sul)
{
	struct sub *s = lws_container_of(sul, struct sub, sul_grace);

	s->live = false;
}

/*
 * Ends the run with @exit_code. A live WebSocket is closed properly first (the
 * next WRITEABLE sends the close frame; the main loop waits for the close, at
 * most a second); an SSE stream is just dropped.
 */
static void finish(struct sub *s, int exit_code)
{
	s->done = true;
	s->exit_code = exit_code;
	if (!s->live || !s->established || s->o.sse) {
		s->live = false;
		return;
	}
	lws_callback_on_writable(s->wsi);
	lws_sul_schedule(s->ctx, 0, &s->sul_grace, stop_waiting, LWS_US_PER_SEC);
}

/* Prints @text as one line: as received, unless it spans lines (then compacted). */
static void print_text(const char *text, size_t len)
{
	cJSON *j = NULL;
	char *flat = NULL;

	if (memchr(text, '\n', len) || memchr(text, '\r', len)) {
		j = cJSON_ParseWithLength(text, len);
		flat = j ? cJSON_PrintUnformatted(j) : NULL;
	}
	if (flat)
		fputs(flat, stdout);
	else
		fwrite(text, 1, len, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	cJSON_free(flat);
	cJSON_Delete(j);
}

static void print_json(cJSON *obj)
{
	char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;

	if (!text) {
		fprintf(stderr, "rtg-sub: out of memory\n");
		return;
	}
	print_text(text, strlen(text));
	cJSON_free(text);
}

/* Counts a printed line. Returns -1 when -C is reached (finish() then closes), else 0. */
static int count_line(struct sub *s)
{
	s->printed++;
	if (!s->o.count || s->printed < s->o.count)
		return 0;
	finish(s, 0);
	return -1;
}

/* Reports the end of the connection: on stderr, and on stdout for scripts. */
static void report_close(int code, const char *reason)
{
	cJSON *obj = cJSON_CreateObject();

	if (code)
		fprintf(stderr, "rtg-sub: closed by server: %d %s\n", code, reason);
	else
		fprintf(stderr, "rtg-sub: closed by server: %s\n", reason);
	if (!obj || !cJSON_AddStringToObject(obj, "type", "_closed") ||
		(code && !cJSON_AddNumberToObject(obj, "code", code)) ||
		!cJSON_AddStringToObject(obj, "reason", reason)) {
		cJSON_Delete(obj);
		fprintf(stderr, "rtg-sub: out of memory\n");
		return;
	}
	print_json(obj);
	cJSON_Delete(obj);
}

/* ==== Positions for "since" =================================================================== */

/* Says whether MQTT @topic matches @filter ('+' one level, '#' the rest, '$' topics apart). */
static bool topic_matches(const char *f, const char *t)
{
	if ((*f == '+' || *f == '#') && *t == '$')
		return false;
	for (;;) {
		if (*f == '#')
			return true;
		if (*f == '+') {
			f++;
			while (*t && *t != '/')
				t++;
		} else {
			while (*f && *f != '/' && *f == *t) {
				f++;
				t++;
			}
			if ((*f && *f != '/') || (*t && *t != '/'))
				return false;
		}
		if (!*f || !*t)
			return !*f ? !*t : !strcmp(f, "/#");
		f++;
		t++;
	}
}

/* Finds @topic's position, adding it when @add (unless the table is full). NULL if none. */
static struct position *position_of(struct sub *s, const char *topic, bool add)
{
	size_t lo = 0, hi = s->npos, mid;
	struct position *p;
	int cmp;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = strcmp(s->pos[mid].topic, topic);
		if (!cmp)
			return &s->pos[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!add || s->npos >= RTG_SUB_MAX_TOPICS) {
		if (add && !s->pos_full_warned)
			fprintf(stderr, "rtg-sub: over %d topics: no \"since\" for more\n",
				RTG_SUB_MAX_TOPICS);
		s->pos_full_warned |= add;
		return NULL;
	}
	if (s->npos == s->cappos) {
		p = realloc(s->pos, (s->cappos ? 2 * s->cappos : 64) * sizeof(*p));
		if (!p)
			return NULL;
		s->pos = p;
		s->cappos = s->cappos ? 2 * s->cappos : 64;
	}
	p = &s->pos[lo];
	memmove(p + 1, p, (s->npos - lo) * sizeof(*p));
	memset(p, 0, sizeof(*p));
	p->topic = strdup(topic);
	if (!p->topic) {
		memmove(p, p + 1, (s->npos - lo) * sizeof(*p));
		return NULL;
	}
	s->npos++;
	return p;
}

/* Remembers the position of one message {"topic":..,"epoch":..,"seq":..}. */
static void remember_one(struct sub *s, const cJSON *msg)
{
	const cJSON *topic = cJSON_GetObjectItemCaseSensitive(msg, "topic");
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(msg, "seq");
	const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(msg, "epoch");
	struct position *p;
	cJSON *copy;

	if (!cJSON_IsString(topic) || !cJSON_IsNumber(seq) || !epoch)
		return;
	p = position_of(s, topic->valuestring, true);
	if (!p)
		return;
	if (p->epoch && cJSON_Compare(p->epoch, epoch, true)) {
		if (seq->valuedouble > p->seq)
			p->seq = seq->valuedouble;
		return;
	}
	/* A new epoch: the adapter restarted that topic's history; start over. */
	copy = cJSON_Duplicate(epoch, true);
	if (!copy)
		return;
	cJSON_Delete(p->epoch);
	p->epoch = copy;
	p->seq = seq->valuedouble;
}

/* Remembers positions from a message and from the messages of a "history" reply. */
static void remember_positions(struct sub *s, const cJSON *msg)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(msg, "messages"), *m;

	remember_one(s, msg);
	cJSON_ArrayForEach(m, list) {
		remember_one(s, m);
	}
}

static cJSON *position_json(const struct position *p)
{
	cJSON *obj = cJSON_CreateObject(), *epoch = cJSON_Duplicate(p->epoch, true);

	if (!obj || !epoch || !cJSON_AddItemToObject(obj, "epoch", epoch)) {
		cJSON_Delete(epoch);
		cJSON_Delete(obj);
		return NULL;
	}
	if (!cJSON_AddNumberToObject(obj, "seq", p->seq)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

/*
 * Builds "since" for a subscription to @filter: {"epoch":E,"seq":N} for a
 * plain topic seen before, {"<topic>":{"epoch":E,"seq":N},...} over the topics
 * seen that a wildcard filter matches. NULL when nothing was seen (or no memory).
 */
static cJSON *since_for(struct sub *s, const char *filter)
{
	struct position *p;
	cJSON *map, *one;
	size_t i;

	if (!strpbrk(filter, "+#")) {
		p = position_of(s, filter, false);
		return p && p->epoch ? position_json(p) : NULL;
	}
	map = cJSON_CreateObject();
	for (i = 0; map && i < s->npos; i++) {
		p = &s->pos[i];
		if (!p->epoch || !topic_matches(filter, p->topic))
			continue;
		one = position_json(p);
		if (!one || !cJSON_AddItemToObject(map, p->topic, one)) {
			cJSON_Delete(one);
			cJSON_Delete(map);
			return NULL;
		}
	}
	if (map && !map->child) {
		cJSON_Delete(map);
		map = NULL;
	}
	return map;
}

/* ==== SSE ===================================================================================== */

static void sse_reset_event(struct sub *s)
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
		sse_reset_event(s);
		return 0;
	}
	s->ev_data.p[--s->ev_data.len] = '\0'; /* the last data line's '\n' */
	data = cJSON_ParseWithOpts(s->ev_data.p, NULL, true);
	if (!data)
		data = cJSON_CreateString(s->ev_data.p);
	obj = cJSON_CreateObject();
	if (!obj || !data || (s->ev_id && !cJSON_AddStringToObject(obj, "id", s->ev_id)) ||
		!cJSON_AddStringToObject(obj, "event", s->ev_event ? s->ev_event : "message") ||
		!cJSON_AddItemToObject(obj, "data", data)) {
		cJSON_Delete(data);
		fprintf(stderr, "rtg-sub: out of memory\n");
	} else {
		print_json(obj);
		rc = count_line(s);
	}
	cJSON_Delete(obj);
	sse_reset_event(s);
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
		if (buf_append(&s->ev_data, v, strlen(v), RTG_SUB_MAX_MESSAGE) ||
			buf_append(&s->ev_data, "\n", 1, RTG_SUB_MAX_MESSAGE))
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
	finish(s, 1);
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

	if (buf_append(&s->rx, in, len, RTG_SUB_MAX_MESSAGE)) {
		fprintf(stderr, "rtg-sub: SSE line over %u bytes\n", RTG_SUB_MAX_MESSAGE);
		finish(s, 1);
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
		print_json(obj);
	}
	cJSON_Delete(obj);
}

/* ==== WebSocket =============================================================================== */

static bool is_type(const cJSON *obj, const char *type)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "type");

	return cJSON_IsString(t) && !strcmp(t->valuestring, type);
}

/* Handles one whole message in s->rx. */
static int on_ws_message(struct sub *s, bool binary)
{
	bool first = s->greeting_pending;
	cJSON *obj = NULL;
	char note[64];

	s->greeting_pending = false;
	if (!first) /* past the greeting: the server is serving, start the backoff over */
		s->backoff_ms = 1000;
	if (binary) {
		snprintf(note, sizeof(note), "{\"type\":\"_binary\",\"length\":%zu}", s->rx.len);
		print_text(note, strlen(note));
		return count_line(s);
	}
	if (s->o.reconnect || (first && s->o.quiet))
		obj = cJSON_ParseWithLength(s->rx.p, s->rx.len);
	if (obj && s->o.reconnect)
		remember_positions(s, obj);
	if (first && s->o.quiet && is_type(obj, "connection")) {
		cJSON_Delete(obj);
		return 0;
	}
	cJSON_Delete(obj);
	print_text(s->rx.p, s->rx.len);
	return count_line(s);
}

/*
 * Collects the fragments of a message (up to 16 MiB). It never returns -1:
 * lws 4.1.6 does not reset its rx buffer then and overruns it with the bytes
 * still to parse; finish() closes from WRITEABLE instead, and what arrives
 * meanwhile is dropped.
 */
static int on_ws_receive(struct sub *s, struct lws *wsi, const void *in, size_t len)
{
	if (s->done)
		return 0;
	if (buf_append(&s->rx, in, len, RTG_SUB_MAX_MESSAGE)) {
		fprintf(stderr, "rtg-sub: message over %u bytes or out of memory\n",
			RTG_SUB_MAX_MESSAGE);
		s->close_code = LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE;
		finish(s, 1);
		return 0;
	}
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	(void)on_ws_message(s, lws_frame_is_binary(wsi));
	s->rx.len = 0;
	return 0;
}

/*
 * The text of outgoing message @k: the MESSAGE as given, except that a topic
 * subscribe gets "since" from the positions seen (replacing any it had).
 * Returns a cJSON-allocated string (cJSON_free) in *printed, or the argument
 * itself (borrowed) when nothing is added.
 */
static const char *outgoing_text(struct sub *s, int k, char **printed)
{
	cJSON *obj = NULL, *since = NULL, *topic;
	const char *msg;

	*printed = NULL;
	if (k < 0) {
		obj = cJSON_CreateObject();
		if (obj && cJSON_AddStringToObject(obj, "type", "auth") &&
			cJSON_AddStringToObject(obj, "token", s->o.token))
			*printed = cJSON_PrintUnformatted(obj);
		cJSON_Delete(obj);
		return *printed;
	}
	msg = s->o.messages[k];
	if (s->npos)
		obj = cJSON_Parse(msg);
	topic = cJSON_GetObjectItemCaseSensitive(obj, "topic");
	if (is_type(obj, "subscribe") && cJSON_IsString(topic))
		since = since_for(s, topic->valuestring);
	if (since) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "since");
		if (cJSON_AddItemToObject(obj, "since", since))
			*printed = cJSON_PrintUnformatted(obj);
		else
			cJSON_Delete(since);
	}
	cJSON_Delete(obj);
	return *printed ? *printed : msg;
}

/* Sends the next MESSAGE (the auth message first with --auth-message). */
static int send_next(struct sub *s, struct lws *wsi)
{
	unsigned char *frame;
	const char *text;
	char *printed;
	size_t len;
	int rc = -1;

	if (s->next_out >= s->o.nmessages)
		return 0;
	text = outgoing_text(s, s->next_out, &printed);
	len = text ? strlen(text) : 0;
	frame = text ? malloc(LWS_PRE + len) : NULL;
	if (!frame) {
		fprintf(stderr, "rtg-sub: out of memory\n");
		finish(s, 1);
		goto out;
	}
	memcpy(frame + LWS_PRE, text, len);
	if (lws_write(wsi, frame + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len) {
		fprintf(stderr, "rtg-sub: write failed\n");
		goto out;
	}
	if (++s->next_out < s->o.nmessages)
		lws_callback_on_writable(wsi);
	rc = 0;
out:
	free(frame);
	cJSON_free(printed);
	return rc;
}

/* The server's close frame: 2 bytes of code (network order), then the reason. */
static void on_peer_close(struct sub *s, const unsigned char *in, size_t len)
{
	char reason[128];
	size_t n = len > 2 ? len - 2 : 0;

	if (n >= sizeof(reason))
		n = sizeof(reason) - 1;
	memcpy(reason, len > 2 ? in + 2 : in, n);
	reason[n] = '\0';
	report_close(len >= 2 ? (in[0] << 8) | in[1] : 1005, reason);
	s->close_seen = true;
}

/* ==== Connection lifecycle ==================================================================== */

static void connect_now(lws_sorted_usec_list_t *sul);

/* Waits 1 s, growing x1.5 to 30 s (SSE: the server's retry:), plus 0-20% jitter. */
static void schedule_reconnect(struct sub *s)
{
	unsigned delay = s->retry_ms > 0 ? (unsigned)s->retry_ms : s->backoff_ms, r = 0;

	if (lws_get_random(s->ctx, &r, sizeof(r)) != sizeof(r))
		r = 0;
	delay += r % (delay / 5 + 1);
	if (s->backoff_ms < 30000)
		s->backoff_ms = s->backoff_ms * 3 / 2 > 30000 ? 30000 : s->backoff_ms * 3 / 2;
	lws_sul_schedule(
		s->ctx, 0, &s->sul_connect, connect_now, (lws_usec_t)delay * LWS_US_PER_MS);
}

/* The connection ended after it was established; @status applies unless -C was met. */
static void on_end(struct sub *s, int status)
{
	if (s->done || interrupted)
		return;
	if (s->o.reconnect)
		schedule_reconnect(s);
	else
		finish(s, s->o.count ? status : 0);
}

static void on_connect_error(struct sub *s, const char *why)
{
	if (!s->live)
		return;
	s->live = false;
	s->wsi = NULL;
	if (s->done || interrupted)
		return;
	if (s->status && !s->o.sse)
		fprintf(stderr, "rtg-sub: connection failed: %s:%d: HTTP %d (%s)\n", s->o.host,
			s->o.port, s->status, why ? why : "no upgrade");
	else
		fprintf(stderr, "rtg-sub: connection failed: %s:%d: %s\n", s->o.host, s->o.port,
			why ? why : "unknown error");
	if (s->o.reconnect)
		schedule_reconnect(s);
	else
		finish(s, 1);
}

/* The WebSocket closed, after the server's close frame or without one. */
static void on_ws_closed(struct sub *s)
{
	if (!s->live)
		return;
	s->live = false;
	s->wsi = NULL;
	if (s->done || interrupted)
		return;
	if (!s->close_seen)
		report_close(1006, "connection lost");
	on_end(s, RTG_SUB_EXIT_CLOSED);
}

/* The SSE response ended: an error status, or the end of the stream. */
static void on_http_done(struct sub *s)
{
	if (!s->live)
		return;
	s->live = false;
	s->wsi = NULL;
	if (s->done || interrupted)
		return;
	if (s->status == 200) {
		report_close(0, "end of stream");
		on_end(s, RTG_SUB_EXIT_CLOSED);
		return;
	}
	print_http_error(s);
	/* Only a server error may go away by asking again. */
	if (s->o.reconnect && s->status >= 500)
		schedule_reconnect(s);
	else
		finish(s, RTG_SUB_EXIT_CLOSED);
}

static int add_header(
	struct lws *wsi, const char *name, const char *value, unsigned char **p, unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
		(const unsigned char *)value, (int)strlen(value), p, end);
}

/* Adds the --header headers, and for SSE Accept, Authorization, Last-Event-ID. */
static int append_headers(struct sub *s, struct lws *wsi, unsigned char **p, unsigned char *end)
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

static void connect_now(lws_sorted_usec_list_t *sul)
{
	struct sub *s = lws_container_of(sul, struct sub, sul_connect);
	struct lws_client_connect_info i;

	s->rx.len = 0;
	sse_reset_event(s);
	s->status = 0;
	s->close_seen = false;
	s->close_code = LWS_CLOSE_STATUS_NORMAL;
	s->established = false;
	s->greeting_pending = true;
	s->next_out = s->o.auth_message ? -1 : 0;
	memset(&i, 0, sizeof(i));
	i.context = s->ctx;
	i.address = s->o.host;
	i.host = s->o.host;
	i.port = s->o.port;
	i.path = s->path;
	i.local_protocol_name = "rtg-sub";
	i.pwsi = &s->wsi;
	if (s->o.sse) {
		i.method = "GET";
		i.alpn = "http/1.1";
	}
	s->live = true;
	if (!lws_client_connect_via_info(&i))
		on_connect_error(s, "cannot start the connection");
}

static void on_wait_expired(lws_sorted_usec_list_t *sul)
{
	struct sub *s = lws_container_of(sul, struct sub, sul_wait);

	finish(s, s->o.count && s->printed < s->o.count ? RTG_SUB_EXIT_TIMEOUT : 0);
}

/* ==== The lws callback and main ================================================================ */

/*
 * Reads HTTP body bytes: the event stream, or an error body (kept up to 1 MiB).
 * Once finish() was called the rest is dropped; the main loop then ends.
 */
static int on_http_read(struct sub *s, const char *in, size_t len)
{
	if (s->done)
		return 0;
	if (s->status == 200) {
		(void)sse_feed(s, in, len);
		return 0;
	}
	(void)buf_append(&s->rx, in, len, RTG_SUB_MAX_BODY);
	return 0;
}

static int callback_sub(
	struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct sub *s = lws_context_user(lws_get_context(wsi));
	char buf[4096 + LWS_PRE], *px = buf + LWS_PRE;
	int n = sizeof(buf) - LWS_PRE;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		return append_headers(s, wsi, (unsigned char **)in, *(unsigned char **)in + len);
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		s->status = (int)lws_http_client_http_response(wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		on_connect_error(s, in ? (const char *)in : NULL);
		return 0;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		s->established = true;
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (s->done) {
			lws_close_reason(wsi, (enum lws_close_status)s->close_code, NULL, 0);
			return -1;
		}
		return send_next(s, wsi);
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return on_ws_receive(s, wsi, in, len);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		on_peer_close(s, in, len);
		return 0; /* lws echoes the close */
	case LWS_CALLBACK_CLIENT_CLOSED:
		on_ws_closed(s);
		return 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
		return lws_http_client_read(wsi, &px, &n) < 0 ? -1 : 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		return on_http_read(s, in, len);
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		on_http_done(s);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{"rtg-sub", callback_sub, 0, 65536, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Signal handler: only a flag and a wake-up (lws_cancel_service writes a pipe). */
static void on_signal(int sig)
{
	(void)sig;
	interrupted = interrupted ? 2 : 1;
	if (signal_ctx)
		lws_cancel_service(signal_ctx);
}

static void sub_cleanup(struct sub *s)
{
	size_t i;

	for (i = 0; i < s->npos; i++) {
		free(s->pos[i].topic);
		cJSON_Delete(s->pos[i].epoch);
	}
	free(s->pos);
	sse_reset_event(s);
	free(s->ev_data.p);
	free(s->rx.p);
	free(s->last_id);
	free(s->path);
	free(s->o.token_buf);
	free(s->o.headers);
	free(s->o.messages);
}

static int create_context(struct sub *s)
{
	struct lws_context_creation_info info;
	struct sigaction sa;

	lws_set_log_level(
		s->o.debug ? LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO | LLL_CLIENT : 0, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.user = s;
	info.fd_limit_per_thread = 1 + 1 + 1;
	info.pt_serv_buf_size = 32768; /* room for long --header values */
	info.connect_timeout_secs = 10;
	s->ctx = lws_create_context(&info);
	if (!s->ctx) {
		fprintf(stderr, "rtg-sub: cannot create the lws context\n");
		return -1;
	}
	signal_ctx = s->ctx;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL)) {
		fprintf(stderr, "rtg-sub: sigaction: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct sub s;
	int rc;

	rc = parse_args(&s.o, argc, argv);
	if (rc) {
		rc = rc == 2 ? 0 : 1; /* 2: --help */
		goto out;
	}
	rc = 1;
	if ((s.o.token_file && read_token_file(&s.o)) || build_path(&s) || create_context(&s))
		goto out;
	s.backoff_ms = 1000;
	lws_sul_schedule(s.ctx, 0, &s.sul_connect, connect_now, 1);
	if (s.o.wait_s)
		lws_sul_schedule(s.ctx, 0, &s.sul_wait, on_wait_expired,
			(lws_usec_t)s.o.wait_s * LWS_US_PER_SEC);
	/* After finish(), go on until the WebSocket has closed; a second signal stops at once. */
	while ((!s.done || s.live) && interrupted < 2) {
		if (interrupted && !s.done)
			finish(&s, 0);
		if (lws_service(s.ctx, 0) < 0)
			break;
	}
	rc = s.exit_code;
	s.done = true; /* the closes lws_context_destroy() reports are ours */
out:
	if (s.ctx)
		lws_context_destroy(s.ctx);
	sub_cleanup(&s);
	return rc;
}
