/*
 * rtg_sub.c - rtg-sub, a command-line client of the adapter in the manner of
 * mosquitto_sub: it opens a WebSocket (or an SSE stream with --sse), sends the
 * MESSAGE arguments and prints everything received as one JSON line each.
 * This file has main, the options, the lws context, the output, the
 * connection lifecycle (connect, backoff, finish) and the exit codes; the
 * WebSocket mode is sub_ws.c's, the SSE mode sub_sse.c's.
 *
 * It does not speak TLS. One thread: all of it runs in the lws event loop
 * except the signal handler, which only sets a flag and wakes the loop.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sub.h"

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
	      "Exit status (the same on WebSocket and SSE):\n"
	      "  0   COUNT reached; without -C: the connection ended, -W expired, or\n"
	      "      SIGINT/SIGTERM arrived\n"
	      "  1   usage error, unreadable --token-file, or a local failure\n"
	      "  2   connection failed: refused, lost, or an HTTP error other than 401 and\n"
	      "      403 (without --reconnect; with it, a 4xx still ends the run)\n"
	      "  3   authentication failed: close 4001 (missing, bad, expired or revoked\n"
	      "      token), HTTP 401, an SSE auth_expired/auth_revoked event, or a\n"
	      "      \"not authenticated\" error; also with --reconnect\n"
	      "  4   authorisation refused: HTTP 403 (a filter or an Origin refused), or a\n"
	      "      subscribe refused (\"cannot subscribe to '...': not allowed ...\");\n"
	      "      also with --reconnect\n"
	      "  5   the server ended the connection before COUNT\n"
	      "  27  -W expired before COUNT\n",
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

int sub__buf_append(struct buf *b, const void *data, size_t n, size_t max)
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
void sub__finish(struct sub *s, int exit_code)
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
void sub__print_text(const char *text, size_t len)
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

void sub__print_json(cJSON *obj)
{
	char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;

	if (!text) {
		fprintf(stderr, "rtg-sub: out of memory\n");
		return;
	}
	sub__print_text(text, strlen(text));
	cJSON_free(text);
}

/* Counts a printed line. Returns -1 when -C is reached (sub__finish() then closes), else 0. */
int sub__count_line(struct sub *s)
{
	s->printed++;
	if (!s->o.count || s->printed < s->o.count)
		return 0;
	sub__finish(s, 0);
	return -1;
}

/* Reports the end of the connection: on stderr, and on stdout for scripts. */
void sub__report_close(int code, const char *reason)
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
	sub__print_json(obj);
	cJSON_Delete(obj);
}

/* ==== Connection lifecycle ==================================================================== */

static void connect_now(lws_sorted_usec_list_t *sul);

/* Waits 1 s, growing x1.5 to 30 s (SSE: the server's retry:), plus 0-20% jitter. */
void sub__schedule_reconnect(struct sub *s)
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
void sub__on_end(struct sub *s, int status)
{
	if (s->done || interrupted)
		return;
	if (s->o.reconnect)
		sub__schedule_reconnect(s);
	else
		sub__finish(s, s->o.count ? status : 0);
}

int sub__http_exit(int status)
{
	if (status == 401)
		return RTG_SUB_EXIT_AUTH;
	return status == 403 ? RTG_SUB_EXIT_DENIED : RTG_SUB_EXIT_CONNECT;
}

/* The connection failed: an upgrade answered 401 or 403 ends the run, even with --reconnect
 * (asking again is refused again); anything else is retried with --reconnect. */
void sub__on_connect_error(struct sub *s, const char *why)
{
	int code = sub__http_exit(s->status);

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
	if (s->o.reconnect && code == RTG_SUB_EXIT_CONNECT)
		sub__schedule_reconnect(s);
	else
		sub__finish(s, code);
}

static void connect_now(lws_sorted_usec_list_t *sul)
{
	struct sub *s = lws_container_of(sul, struct sub, sul_connect);
	struct lws_client_connect_info i;

	s->rx.len = 0;
	sub__sse_reset_event(s);
	s->status = 0;
	s->close_seen = false;
	s->close_code = LWS_CLOSE_STATUS_NORMAL;
	s->peer_close = 0;
	s->auth_ended = false;
	s->established = false;
	s->greeting_pending = true;
	s->replay_asked = false; /* an answer of the last connection will not come */
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
		sub__on_connect_error(s, "cannot start the connection");
}

static void on_wait_expired(lws_sorted_usec_list_t *sul)
{
	struct sub *s = lws_container_of(sul, struct sub, sul_wait);

	sub__finish(s, s->o.count && s->printed < s->o.count ? RTG_SUB_EXIT_TIMEOUT : 0);
}

/* ==== Signals, context and main =============================================================== */

bool sub__interrupted(void)
{
	return interrupted != 0;
}

/*
 * The connection went away: forget it. Returns true if there is nothing more
 * to do (it was already gone, the run is over, or a signal asked to stop).
 */
bool sub__connection_gone(struct sub *s)
{
	if (!s->live)
		return true;
	s->live = false;
	s->wsi = NULL;
	return s->done || sub__interrupted();
}

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
	sub__resume_free(s);
	sub__sse_reset_event(s);
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
	info.protocols = sub__protocols;
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
		rc = rc == 2 ? 0 : RTG_SUB_EXIT_ERROR; /* 2: --help */
		goto out;
	}
	rc = RTG_SUB_EXIT_ERROR;
	if ((s.o.token_file && read_token_file(&s.o)) || build_path(&s) || create_context(&s))
		goto out;
	s.backoff_ms = 1000;
	lws_sul_schedule(s.ctx, 0, &s.sul_connect, connect_now, 1);
	if (s.o.wait_s)
		lws_sul_schedule(s.ctx, 0, &s.sul_wait, on_wait_expired,
			(lws_usec_t)s.o.wait_s * LWS_US_PER_SEC);
	/* After sub__finish(), run until the WebSocket has closed; a 2nd signal stops at once. */
	while ((!s.done || s.live) && interrupted < 2) {
		if (interrupted && !s.done)
			sub__finish(&s, 0);
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
