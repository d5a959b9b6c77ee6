/*
 * main.c - rtg-adapter: start-up, the event loop, reload and shutdown.
 *
 * Reads the configuration, loads keys and ACL, creates the lws context (HTTP,
 * SSE and WebSocket on one port; the MQTT socket adopted into the same loop,
 * libev's or lws' own: loop.c)
 * and serves until SIGTERM/SIGINT. SIGHUP re-reads keys and ACL. Shutdown
 * closes WebSockets with 1001, ends SSE streams with a jittered retry hint,
 * flushes, disconnects from the broker and exits 0. Signal handlers only set
 * flags and wake the loop (lws_cancel_service); the work happens here, on
 * the one thread.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"

/* How long a shutdown waits for queued messages and close frames to go out. */
#define SHUTDOWN_GRACE_US (2 * LWS_US_PER_SEC)

static volatile sig_atomic_t stop_requested, reload_requested;
static struct lws_context *signal_ctx;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
	if (signal_ctx)
		lws_cancel_service(signal_ctx);
}

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

/* Closes every session and lets lws send what is queued, for at most the grace period. */
static void shut_down(struct adapter *a)
{
	lws_usec_t deadline = lws_now_usecs() + SHUTDOWN_GRACE_US;
	lws_usec_t now;

	lwsl_notice("shutting down: closing %u connections\n", a->sessions.count);
	a->stopping = true;
	ws__shutdown_all(a);
	while (a->sessions.count && (now = lws_now_usecs()) < deadline)
		loop__turn(a, deadline - now);
	/* Last, with the broker still connected: nothing is read after this point. */
	history__save(&a->hist, a->cfg.history_file, a->bridge.session, bridge__session_saved(a));
}

static void print_listening(struct adapter *a)
{
	int port = a->listen_port;

	/* Tests and `make run` read this line to learn the port (http_port 0 = any). */
	lwsl_user("rtg-adapter listening on %s://%s:%d\n", a->cfg.tls_cert_file ? "https" : "http",
		a->cfg.http_host, port);
	fprintf(stdout, "listening %s %d\n", a->cfg.http_host, port);
	fflush(stdout);
}

static int run(struct adapter *a)
{
	while (!stop_requested) {
		if (loop__turn(a, 0) < 0)
			return -1;
		if (reload_requested) {
			reload_requested = 0;
			auth__reload(a);
		}
	}
	shut_down(a);
	return 0;
}

int main(int argc, char **argv)
{
	static struct adapter a;
	char err[512];
	bool help = false;
	int rc = EXIT_FAILURE;

	if (config__load(&a.cfg, argc, argv, &help, err, sizeof(err))) {
		fprintf(stderr, "rtg-adapter: %s\n", err);
		return EXIT_FAILURE;
	}
	if (help) {
		config__cleanup(&a.cfg);
		return EXIT_SUCCESS;
	}
	lws_set_log_level(log_mask(a.cfg.log_level), log_emit);
	a.started = time(NULL);
	subs__init(&a.subs);
	if (history__init(
		    &a.hist, (unsigned)a.cfg.history_size, (unsigned)a.cfg.history_max_topics))
		goto out;
	if (auth__init(&a)) /* keys, ACL and profiles: the history's topic types come from these */
		goto out;
	a.hist.topic_info = req__topic_info;
	a.hist.topic_info_arg = &a;
	/* A refused file is logged and the history starts empty: not a reason to stop. */
	history__load(&a.hist, a.cfg.history_file, &a.bridge.held, &a.bridge.nheld);
	if (create_context(&a) || bridge__init(&a))
		goto out;
	signal_ctx = a.ctx;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	timers__start(&a);
	stats__start(&a);
	print_listening(&a);
	if (run(&a) == 0)
		rc = EXIT_SUCCESS;
out:
	if (a.ctx)
		timers__stop(&a);
	stats__stop(&a);
	bridge__cleanup(&a);
	if (a.ctx)
		lws_context_destroy(a.ctx);
	loop__cleanup();
	subs__cleanup(&a);
	limits__cleanup(&a);
	wsub__cleanup();
	history__cleanup(&a.hist);
	auth__cleanup(&a);
	config__cleanup(&a.cfg);
	return rc;
}
