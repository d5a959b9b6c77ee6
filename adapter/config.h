/*
 * config.h - the adapter's configuration: a `key value` file in the format of
 * mosquitto.conf (-c FILE) and the same keys as --key-name flags (dashes for
 * underscores; flags win over the file).
 *
 * Parsing is driven by one table of options with defaults and bounds. Every
 * problem is reported, all at once (as the ACL parser does), one line each:
 * "file:line: reason", "--flag: reason" or the rule broken; any stops
 * start-up. Nothing here touches lws or MQTT. Main thread, at start-up.
 *
 * File: "key value" per line, value = rest of the line trimmed (no inline
 * comments), '#' comment lines, blank lines. Unlike mosquitto.conf, a key
 * given twice in the file is refused ("duplicate option 'x' (first on line N)"):
 * it is almost always an edit gone wrong. A flag given twice: the last wins.
 * The files the options name are not opened here; their users report errors.
 */
#ifndef RTG_ADAPTER_CONFIG_H
#define RTG_ADAPTER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "rtg_broker.h"

struct adapter_config {
	/* listener */
	char *http_host; /* default 127.0.0.1 */
	int http_port; /* default 8000, 0-65535 (0: any free port) */
	char *static_dir; /* default ./static; served at / */
	char *profiles_file; /* default profiles/gateway.conf: every endpoint (docs/profiles.md) */
	int reuse_port; /* default 0; 1: SO_REUSEPORT, several adapters share the port */
	char *tls_cert_file; /* PEM certificate chain: serve https:// and wss:// (with tls_key_file) */
	char *tls_key_file; /* PEM private key of tls_cert_file */
	char *allowed_origins; /* comma list of origins for WebSocket upgrades and CORS;
				 * default: same origin only; "*": any */
	/* broker */
	char *mqtt_host; /* default 127.0.0.1 */
	int mqtt_port; /* default 1883 */
	char *mqtt_brokers; /* "host:port,host:port,...": brokers in order (not with mqtt_host/port) */
	int mqtt_failback; /* default 0 (stay); seconds on another broker before trying the first */
	int mqtt_keepalive; /* default 5 s, 5-3600: a silent broker is lost within twice this */
	int mqtt_connect_timeout; /* default 5 s, 1-300: TCP connect to CONNACK, then the next */
	char *mqtt_token_file; /* the adapter's own JWT (role gateway); required */
	char *mqtt_ca_file; /* PEM CA: connect to the broker over TLS, verifying it */
	char *mqtt_client_id; /* default "rtg-adapter-<adapter epoch>" (NULL here means that) */
	int mqtt_session_expiry; /* default 0 (clean session); seconds the broker keeps this
				  * adapter's subscriptions and queued messages (needs mqtt_client_id) */
	/* tokens and ACL (the same files as the broker plugin) */
	char *jwt_secret_file;
	char *jwt_public_key_file;
	char *jwt_jwks_file; /* JWKS: keys by kid, for rotation */
	char *jwt_algorithms;
	char *jwt_issuer;
	char *jwt_audience;
	int jwt_leeway; /* default 30, 0-3600 */
	char *acl_file; /* required */
	/* history */
	int history_size; /* default 100, 0-100000 messages per topic */
	int history_max_topics; /* default 10000, 1-10000000 */
	char *history_file; /* written at shutdown, read at start-up: history survives a restart */
	/* clients */
	int auth_timeout; /* default 10 s, 1-300: time to send {"type":"auth"} */
	int sse_heartbeat; /* default 15 s, 1-3600: SSE comment heartbeat */
	int max_message_size; /* default 65536 bytes, 256-16777216: inbound frame/body limit */
	int queue_max_messages; /* default 1024, 1-1000000: per-connection send queue */
	int queue_max_bytes; /* default 4194304, 1024-1073741824 */
	int slow_consumer_timeout; /* default 10 s, 1-3600: a queue full this long closes with 1013 */
	int socket_sndbuf; /* default 65536 bytes, 0 (kernel default) or 4096-16777216 */
	/* limits */
	int rate_limit; /* default 10 messages/s per connection, 1-100000 */
	int rate_burst; /* default 100, 1-1000000 */
	int rate_limit_close; /* default 50: refused messages in a row before close 1008 */
	int max_subscriptions; /* default 200 per connection, 1-100000 */
	int max_connections_per_user; /* default 50, 1-1000000 */
	int max_connections; /* default 19000 WebSocket + SSE, 1-10000000 */
	int idle_timeout; /* default 60 s, 2-86400: a silent WebSocket is closed */
	int calc_timeout; /* default 120 s, 1-86400: no calculation update this long fails it */
	char *stats_access; /* "ops-or-loopback" (default), "ops", "loopback", "any" */
	int stats_interval; /* default 10 s, 0-86400: publish system/stats (0: never) */
	char *log_level; /* "error", "warn", "notice" (default), "info", "debug" */
	char *event_loop; /* "epoll" (default: libev) or "poll" (lws' own loop) */
	/* derived by config__load(): mqtt_brokers, or mqtt_host and mqtt_port as one broker */
	struct rtg_broker *brokers;
	int nbrokers; /* 1..RTG_BROKER_MAX */
};

/**
 * Fills @p cfg with the defaults, then the file named by "-c FILE" (if any),
 * then the --flags, and validates the result (required keys present, numbers
 * in bounds, enumerations known). "-h"/"--help" prints usage to stdout and
 * sets *help; it returns 0 at once with only the defaults loaded.
 * @param cfg overwritten on entry (not freed: pass a zeroed or cleaned-up one);
 *        on success its strings belong to the caller, freed by config__cleanup()
 * @param err receives every error, one line each ("file:line: reason",
 *        "--flag: reason" or the rule broken), '\n' between them and none at
 *        the end, no program name; cut at @p errlen. The file is read to its
 *        end and every flag and rule checked, whatever the errors before; a
 *        rule across options is not checked again when one of them was bad.
 * @return 0 on success, -1 on error (cfg is then cleaned up)
 */
int config__load(
	struct adapter_config *cfg, int argc, char **argv, bool *help, char *err, size_t errlen);

/** Frees the strings of @p cfg. Safe to call twice. */
void config__cleanup(struct adapter_config *cfg);

/**
 * Fills cfg->brokers from cfg->mqtt_brokers, or else from mqtt_host and
 * mqtt_port as a list of one.
 * @param host_given mqtt_host or mqtt_port was set (file or flag): with
 *        mqtt_brokers, refused
 * @return 0, or -1 with the reason ("mqtt_brokers: ...") in @p why
 */
int config__resolve_brokers(struct adapter_config *cfg, bool host_given, char *why, size_t whylen);

/** Prints the usage text (every key with its default and bounds) to @p fp. */
void config__usage(FILE *fp, const char *argv0);

#endif /* RTG_ADAPTER_CONFIG_H */
