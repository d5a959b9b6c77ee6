/*
 * stats.c - the adapter's figures for people and for monitoring: a JSON
 * object for /api/stats (the shape the seed applications used) and the
 * Prometheus text exposition format 0.0.4 for /metrics.
 *
 * It only reads the counters the other files keep (struct stats, the
 * registry, the bridge, the history); it counts nothing itself and decides
 * nothing about who may read them (http.c, auth.c). lws thread only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "rtg_json.h"
#include "rtg_util.h"

static const char *broker_state(const struct adapter *a)
{
	switch (a->bridge.state) {
	case BRIDGE_UP:
		return "connected";
	case BRIDGE_CONNECTING:
		return "connecting";
	default:
		return "disconnected";
	}
}

static double uptime(const struct adapter *a)
{
	return (double)(time(NULL) - a->started);
}

/* One named figure, so both formats are driven by the same table. */
struct figure {
	const char *name;
	uint64_t value;
};

#define FIGURE(field)                  \
	{                              \
#field, a->stats.field \
	}

/* ---- JSON ------------------------------------------------------------------------------ */

static bool add_figures(cJSON *obj, const struct figure *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!cJSON_AddNumberToObject(obj, f[i].name, (double)f[i].value))
			return false;
	}
	return true;
}

/*
 * The ticker a broker filter follows: a topic (no wildcard) whose line in the
 * profiles names a {ticker} level (topic market/{ticker} price_update). Copies
 * it into buf; false if the filter is no ticker.
 */
static bool ticker_of(const struct adapter *a, const char *filter, char *buf, size_t len)
{
	const struct prof_topic *t;

	if (strpbrk(filter, "+#"))
		return false;
	t = profile__topic(a->prof, filter);
	return t && profile__topic_param(t, filter, "ticker", buf, len);
}

/* "subscriptions" (filter -> clients) and "ticker_subscriptions" (ticker -> clients). */
static bool add_subscriptions(cJSON *obj, struct adapter *a)
{
	cJSON *subs = cJSON_AddObjectToObject(obj, "subscriptions");
	cJSON *tickers = cJSON_AddObjectToObject(obj, "ticker_subscriptions");
	const struct bsub *b;
	char t[128];

	if (!subs || !tickers)
		return false;
	for (b = a->subs.by_filter; b; b = b->hh.next) {
		if (!cJSON_AddNumberToObject(subs, b->filter, (double)b->refs))
			return false;
		if (ticker_of(a, b->filter, t, sizeof(t)) &&
			!cJSON_AddNumberToObject(tickers, t, (double)b->refs))
			return false;
	}
	return true;
}

static bool add_broker(cJSON *obj, const struct adapter *a)
{
	cJSON *b = cJSON_AddObjectToObject(obj, "broker");

	return b && cJSON_AddStringToObject(b, "state", broker_state(a)) &&
		cJSON_AddNumberToObject(b, "connects", (double)a->bridge.connects) &&
		cJSON_AddNumberToObject(b, "disconnects", (double)a->bridge.disconnects) &&
		cJSON_AddNumberToObject(b, "published", (double)a->bridge.published) &&
		cJSON_AddNumberToObject(b, "received", (double)a->bridge.received);
}

static bool add_history(cJSON *obj, const struct adapter *a)
{
	cJSON *h = cJSON_AddObjectToObject(obj, "history");

	return h && cJSON_AddNumberToObject(h, "topics", (double)a->hist.ntopics) &&
		cJSON_AddNumberToObject(h, "evicted_topics", (double)a->hist.evicted_topics) &&
		cJSON_AddNumberToObject(h, "size", (double)a->hist.size);
}

/* The /api/stats object; the caller frees it with cJSON_Delete(). NULL on out of memory. */
cJSON *stats__json(struct adapter *a)
{
	const struct figure figures[] = {
		{"active_connections", a->stats.ws_connections + a->stats.sse_connections},
		FIGURE(total_connections),
		{"websocket_connections", a->stats.ws_connections},
		FIGURE(sse_connections),
		{"broker_subscriptions", subs__broker_count(a)},
		FIGURE(messages_sent),
		FIGURE(messages_received),
		FIGURE(mqtt_messages),
		FIGURE(mqtt_duplicates),
		FIGURE(dropped),
		FIGURE(gaps),
		FIGURE(errors),
		FIGURE(auth_failures),
		FIGURE(http_requests),
		FIGURE(publishes),
		FIGURE(conflated),
		FIGURE(slow_closed),
		FIGURE(rate_limited),
		FIGURE(rate_closed),
		FIGURE(refused_capacity),
		FIGURE(refused_user),
		FIGURE(refused_origin),
		FIGURE(refused_subscriptions),
		FIGURE(idle_closed),
		FIGURE(calc_timeouts),
	};
	cJSON *obj = cJSON_CreateObject();
	char ts[40];

	if (!obj || !add_figures(obj, figures, sizeof(figures) / sizeof(figures[0])) ||
		!add_subscriptions(obj, a) || !cJSON_AddNumberToObject(obj, "uptime", uptime(a)) ||
		!add_broker(obj, a) || !add_history(obj, a) ||
		!cJSON_AddStringToObject(obj, "timestamp", session__iso_time(ts, sizeof(ts)))) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

/*
 * The /health object: {"status":"ok"|"degraded","broker":"connected"|
 * "disconnected","uptime":N,"connections":N,"timestamp":T}; "ok" exactly when
 * the broker connection is up. The caller frees it; NULL on out of memory.
 */
cJSON *stats__health(struct adapter *a)
{
	bool up = a->bridge.state == BRIDGE_UP;
	cJSON *obj = cJSON_CreateObject();
	char ts[40];

	if (!obj || !cJSON_AddStringToObject(obj, "status", up ? "ok" : "degraded") ||
		!cJSON_AddStringToObject(obj, "broker", up ? "connected" : "disconnected") ||
		!cJSON_AddNumberToObject(obj, "uptime", uptime(a)) ||
		!cJSON_AddNumberToObject(obj, "connections",
			(double)(a->stats.ws_connections + a->stats.sse_connections)) ||
		!cJSON_AddStringToObject(obj, "timestamp", session__iso_time(ts, sizeof(ts)))) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

/* ---- Prometheus ------------------------------------------------------------------------ */

/* A growing text buffer; on out of memory it stops growing and remembers it. */
struct text {
	char *buf;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	size_t need;
	char *grown;
	int n;

	if (t->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->oom = true;
		return;
	}
	need = t->len + (size_t)n + 1;
	if (need > t->cap) {
		grown = realloc(t->buf, need * 2);
		if (!grown) {
			t->oom = true;
			return;
		}
		t->buf = grown;
		t->cap = need * 2;
		va_start(ap, fmt);
		vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
	}
	t->len += (size_t)n;
}

static void metric(
	struct text *t, const char *name, const char *type, const char *help, uint64_t value)
{
	put(t, "# HELP rtg_adapter_%s %s\n# TYPE rtg_adapter_%s %s\nrtg_adapter_%s %llu\n", name,
		help, name, type, name, (unsigned long long)value);
}

/* A label value: backslash, double quote and newline are escaped (format 0.0.4). */
static void put_label(struct text *t, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			put(t, "\\\\");
		else if (*v == '"')
			put(t, "\\\"");
		else if (*v == '\n')
			put(t, "\\n");
		else
			put(t, "%c", *v);
	}
}

static void counters(struct text *t, const struct adapter *a)
{
	const struct stats *st = &a->stats;

	metric(t, "connections_total", "counter", "Browser connections accepted.",
		st->total_connections);
	metric(t, "messages_sent_total", "counter", "Messages sent to browsers.",
		st->messages_sent);
	metric(t, "messages_received_total", "counter", "Messages received from browsers.",
		st->messages_received);
	metric(t, "mqtt_messages_total", "counter", "MQTT messages from the broker.",
		st->mqtt_messages);
	metric(t, "mqtt_duplicates_total", "counter",
		"Extra copies from overlapping broker subscriptions.", st->mqtt_duplicates);
	metric(t, "dropped_total", "counter", "Messages dropped from send queues.", st->dropped);
	metric(t, "gaps_total", "counter",
		"Gap notices sent: runs of dropped messages a client was told of.", st->gaps);
	metric(t, "errors_total", "counter", "Error replies and refused requests.", st->errors);
	metric(t, "auth_failures_total", "counter", "Tokens refused.", st->auth_failures);
	metric(t, "http_requests_total", "counter", "Plain HTTP requests.", st->http_requests);
	metric(t, "publishes_total", "counter", "Client publishes accepted.", st->publishes);
	metric(t, "conflated_total", "counter", "Queued messages replaced by a newer value.",
		st->conflated);
	metric(t, "slow_closed_total", "counter", "Connections closed 1013: too slow.",
		st->slow_closed);
	metric(t, "rate_limited_total", "counter", "Client messages refused by the rate limit.",
		st->rate_limited);
	metric(t, "rate_closed_total", "counter", "Connections closed 1008 for flooding.",
		st->rate_closed);
	put(t,
		"# HELP rtg_adapter_refused_total Connections and requests refused by a limit.\n"
		"# TYPE rtg_adapter_refused_total counter\n"
		"rtg_adapter_refused_total{limit=\"max_connections\"} %llu\n"
		"rtg_adapter_refused_total{limit=\"max_connections_per_user\"} %llu\n"
		"rtg_adapter_refused_total{limit=\"allowed_origins\"} %llu\n"
		"rtg_adapter_refused_total{limit=\"max_subscriptions\"} %llu\n",
		(unsigned long long)st->refused_capacity, (unsigned long long)st->refused_user,
		(unsigned long long)st->refused_origin,
		(unsigned long long)st->refused_subscriptions);
	metric(t, "idle_closed_total", "counter", "WebSockets closed for silence.",
		st->idle_closed);
	metric(t, "calc_timeouts_total", "counter", "Calculations failed by calc_timeout.",
		st->calc_timeouts);
	metric(t, "broker_connects_total", "counter", "Connections made to the broker.",
		a->bridge.connects);
	metric(t, "broker_disconnects_total", "counter", "Connections to the broker lost.",
		a->bridge.disconnects);
	metric(t, "broker_published_total", "counter", "Messages published to the broker.",
		a->bridge.published);
	metric(t, "broker_received_total", "counter", "Messages received from the broker.",
		a->bridge.received);
	metric(t, "history_evicted_topics_total", "counter", "Topics forgotten by the history.",
		a->hist.evicted_topics);
}

static void gauges(struct text *t, struct adapter *a)
{
	const struct bsub *b;

	put(t,
		"# HELP rtg_adapter_connections Open browser connections.\n"
		"# TYPE rtg_adapter_connections gauge\n"
		"rtg_adapter_connections{kind=\"ws\"} %llu\n"
		"rtg_adapter_connections{kind=\"sse\"} %llu\n",
		(unsigned long long)a->stats.ws_connections,
		(unsigned long long)a->stats.sse_connections);
	metric(t, "broker_connected", "gauge", "1 if the broker connection is up.",
		a->bridge.state == BRIDGE_UP);
	metric(t, "broker_subscriptions", "gauge", "Distinct filters subscribed at the broker.",
		subs__broker_count(a));
	metric(t, "history_topics", "gauge", "Topics the history holds.", a->hist.ntopics);
	put(t,
		"# HELP rtg_adapter_uptime_seconds Seconds since the adapter started.\n"
		"# TYPE rtg_adapter_uptime_seconds gauge\nrtg_adapter_uptime_seconds %.0f\n",
		uptime(a));
	put(t,
		"# HELP rtg_adapter_subscriptions Client subscriptions per filter.\n"
		"# TYPE rtg_adapter_subscriptions gauge\n");
	for (b = a->subs.by_filter; b; b = b->hh.next) {
		put(t, "rtg_adapter_subscriptions{filter=\"");
		put_label(t, b->filter);
		put(t, "\"} %u\n", b->refs);
	}
}

/*
 * The /metrics text. Returns a malloc'd NUL-terminated string the caller
 * frees with free(), its length in *len; NULL on out of memory.
 */
char *stats__prometheus(struct adapter *a, size_t *len)
{
	struct text t = {.buf = malloc(4096), .cap = 4096};

	*len = 0;
	if (!t.buf)
		return NULL;
	t.buf[0] = '\0';
	gauges(&t, a);
	counters(&t, a);
	if (t.oom) {
		free(t.buf);
		return NULL;
	}
	*len = t.len;
	return t.buf;
}

/* ==== system/stats: this adapter's figures with the broker's, published =============== */

/* The $SYS figures worth repeating in system/stats (under $SYS/broker/). */
static const char *const sys_keys[] = {"clients/connected", "clients/total", "clients/maximum",
	"messages/received", "messages/sent", "load/messages/received/1min",
	"load/messages/sent/1min", "subscriptions/count", "retained messages/count", "uptime",
	"version"};

/*
 * Keeps the value of one $SYS topic if it is one of sys_keys. Returns true if
 * the topic was a $SYS topic (kept or not). Numbers are kept as numbers.
 */
bool stats__on_sys(struct adapter *a, const char *topic, const void *payload, size_t len)
{
	static const char prefix[] = "$SYS/broker/";
	char text[128], *end = NULL;
	const char *key;
	cJSON *value;
	double num;
	size_t i;

	if (strncmp(topic, "$SYS/", 5))
		return false;
	if (strncmp(topic, prefix, sizeof(prefix) - 1) || len >= sizeof(text))
		return true;
	key = topic + sizeof(prefix) - 1;
	for (i = 0; i < RTG_ARRAY_SIZE(sys_keys) && strcmp(key, sys_keys[i]); i++)
		;
	if (i == RTG_ARRAY_SIZE(sys_keys))
		return true;
	memcpy(text, payload, len);
	text[len] = '\0';
	num = strtod(text, &end);
	value = end && end != text && !*end ? cJSON_CreateNumber(num) : cJSON_CreateString(text);
	if (!a->broker_sys)
		a->broker_sys = cJSON_CreateObject();
	if (!value || !a->broker_sys) {
		cJSON_Delete(value);
		return true;
	}
	if (cJSON_HasObjectItem(a->broker_sys, key))
		cJSON_ReplaceItemInObjectCaseSensitive(a->broker_sys, key, value);
	else if (!cJSON_AddItemToObject(a->broker_sys, key, value))
		cJSON_Delete(value);
	return true;
}

/* Every stats_interval: {"type":"system_stats", ...adapter figures, "broker":{$SYS}}. */
static void on_stats_timer(struct lws_sorted_usec_list *sul)
{
	struct adapter *a = lws_container_of(sul, struct adapter, sul_stats);
	cJSON *obj = NULL;
	char *text = NULL;
	size_t len;

	if (bridge__up(a) && (obj = stats__json(a)) &&
		cJSON_AddStringToObject(obj, "type", "system_stats") &&
		(!a->broker_sys ||
			cJSON_AddItemToObject(obj, "broker", cJSON_Duplicate(a->broker_sys, 1))) &&
		(text = rtg_json_print(obj, &len)))
		bridge__publish(a, "system/stats", text, len, true);
	rtg_json_free(text);
	cJSON_Delete(obj);
	lws_sul_schedule(a->ctx, 0, &a->sul_stats, on_stats_timer,
		(lws_usec_t)a->cfg.stats_interval * LWS_US_PER_SEC);
}

void stats__start(struct adapter *a)
{
	if (a->cfg.stats_interval > 0)
		lws_sul_schedule(a->ctx, 0, &a->sul_stats, on_stats_timer,
			(lws_usec_t)a->cfg.stats_interval * LWS_US_PER_SEC);
}

void stats__stop(struct adapter *a)
{
	lws_sul_cancel(&a->sul_stats);
	cJSON_Delete(a->broker_sys);
	a->broker_sys = NULL;
}
