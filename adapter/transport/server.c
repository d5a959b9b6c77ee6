/*
 * server.c - the lws side of start-up and shutdown: the context (HTTP, SSE
 * and WebSocket on one port; the MQTT socket adopted into the same loop,
 * libev's or lws' own: loop.c), the log, the second that drives the core's
 * timer wheel, the loop's turns and the drain at shutdown.
 * lws thread only.
 */
#include <string.h>

#include "adapter.h"
#include "rtg_log.h"

static int log_mask(const char *level)
{
	int mask = LLL_ERR | LLL_USER;

	if (strcmp(level, "error"))
		mask |= LLL_WARN;
	if (strcmp(level, "error") && strcmp(level, "warn"))
		mask |= LLL_NOTICE;
	if (!strcmp(level, "info") || !strcmp(level, "debug"))
		mask |= LLL_INFO;
	if (!strcmp(level, "debug"))
		mask |= LLL_DEBUG;
	return mask;
}

/*
 * lws' log lines go to stderr, but for the trace its libev glue prints at
 * notice level on every change of a socket's events (lws 4.1): at the default
 * log_level that was a line per write that did not complete at once.
 */
static void log_emit(int level, const char *line)
{
	if (level == LLL_NOTICE && strstr(line, "elops_"))
		return;
	lwsl_emit_stderr(level, line);
}

/*
 * No lws validity policy: the adapter has its own idle check (ws.c). lws'
 * default (PING after 300 s, hang up at 310 s) re-armed a timer at every PONG
 * and upgrade, in lws' sorted timer list, walking the timers of every other
 * connection each time (timers.c).
 */
static const lws_retry_bo_t no_validity = {
	.secs_since_valid_ping = 0, .secs_since_valid_hangup = 0};

/* The HTTP protocol first (plain requests bind to it), WebSocket as the default for upgrades. */
static struct lws_protocols protocols[5];
static const struct lws_protocol_vhost_options ws_default = {NULL, NULL, "default", "1"};
static const struct lws_protocol_vhost_options pvo_ws = {NULL, &ws_default, "rtg-ws", ""};

static int create_context(struct adapter *a)
{
	struct lws_context_creation_info info;

	protocols[0] = http__protocol;
	protocols[1] = ws__protocol;
	protocols[2] = bridge__protocol;
	protocols[3] = listen__protocol;
	memset(&protocols[4], 0, sizeof(protocols[4]));
	memset(&info, 0, sizeof(info));
	/* reuse_port: listen.c makes the listener (SO_REUSEPORT), lws only serves */
	info.port = a->cfg.reuse_port ? CONTEXT_PORT_NO_LISTEN : a->cfg.http_port;
	info.iface = a->cfg.http_host;
	info.protocols = protocols;
	info.pvo = &pvo_ws;
	info.user = a;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
	if (a->cfg.tls_cert_file) {
		/* https:// and wss:// on the same port; the adopted MQTT socket stays plain */
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = a->cfg.tls_cert_file;
		info.ssl_private_key_filepath = a->cfg.tls_key_file;
	}
	info.retry_and_idle_policy = &no_validity;
	info.max_http_header_data = 12288; /* room for an 8 KiB token in a header or URL */
	info.timeout_secs = 30;
	loop__prepare(a, &info);
	a->ctx = lws_create_context(&info);
	if (!a->ctx && a->loop_ev) {
		loop__fallback(a, &info);
		a->ctx = lws_create_context(&info);
	}
	if (!a->ctx)
		return -1;
	a->vhost = lws_get_vhost_by_name(a->ctx, "default");
	if (!a->vhost)
		return -1;
	a->listen_port = a->cfg.reuse_port ? listen__open(a) : lws_get_vhost_listen_port(a->vhost);
	return a->listen_port < 0 ? -1 : 0;
}

/* The core and the policy layer log through rtg_log (common/rtg_log.h): into lws' log. */
static void rtg_log_to_lws(enum rtg_log_level level, const char *line)
{
	static const int lll[] = {LLL_ERR, LLL_WARN, LLL_NOTICE, LLL_INFO, LLL_DEBUG};

	_lws_log(lll[level], "%s", line);
}

/* Runs the core's timers once a second, just after the second turns. */
static void on_tick(struct lws_sorted_usec_list *sul)
{
	struct adapter *a = container_of(sul, struct adapter, sul_tick);
	lws_usec_t us;

	timers__run(&a->core.wheel);
	us = lws_now_usecs();
	lws_sul_schedule(
		a->ctx, 0, &a->sul_tick, on_tick, LWS_US_PER_SEC - us % LWS_US_PER_SEC + 1000);
}

/* The log, the context, the listener and the tick. Returns 0 or -1. */
int server__start(struct adapter *a)
{
	lws_set_log_level(log_mask(a->cfg.log_level), log_emit);
	rtg_log_set_sink(rtg_log_to_lws);
	if (create_context(a))
		return -1;
	lws_sul_schedule(a->ctx, 0, &a->sul_tick, on_tick, LWS_US_PER_SEC);
	return 0;
}

/* One turn of the loop; -1 when it failed. */
int server__turn(struct adapter *a)
{
	return loop__turn(a, 0);
}

/* From a signal handler: makes the loop return from its wait. */
void server__wake(struct adapter *a)
{
	if (a->ctx)
		lws_cancel_service(a->ctx);
}

/* Lets lws send what is queued until every session is gone, for at most grace_us. */
void server__drain(struct adapter *a, int64_t grace_us)
{
	lws_usec_t deadline = lws_now_usecs() + grace_us;
	lws_usec_t now;

	while (a->core.sessions.count && (now = lws_now_usecs()) < deadline)
		loop__turn(a, deadline - now);
}

void server__stop(struct adapter *a)
{
	if (a->ctx) {
		lws_sul_cancel(&a->sul_tick);
		lws_context_destroy(a->ctx);
		a->ctx = NULL;
	}
	loop__cleanup();
}
