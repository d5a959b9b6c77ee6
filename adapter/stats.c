/*
 * stats.c - the adapter's figures for people and for monitoring: a JSON
 * object for /api/stats (the shape the seed applications used) and the
 * Prometheus text exposition format 0.0.4 for /metrics.
 *
 * It only reads the counters the other files keep (struct stats, the
 * registry, the bridge, the history); it counts nothing itself and decides
 * nothing about who may read them (http.c, auth.c).
 * One thread only: the event loop's.
 */
#include <stdarg.h>
#include <stddef.h>
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

/* ==== the figures: one table for both formats ============================================== */

enum fig_type { FIG_COUNTER, FIG_GAUGE };

/*
 * One figure, named once for each format. json is its /api/stats member:
 * "name" at the top, "broker.name" or "history.name" inside that object;
 * prom is the metric's name after "rtg_adapter_", with label the sample's
 * labels when several figures share one metric (consecutive rows). NULL:
 * not in that format. The value is at off in struct stats, or get(a).
 */
struct figure {
	const char *json, *prom, *label;
	enum fig_type type;
	const char *help;
	size_t off;
	uint64_t (*get)(const struct adapter *a);
};

static uint64_t open_connections(const struct adapter *a)
{
	return a->stats.ws_connections + a->stats.sse_connections;
}

static uint64_t broker_connected(const struct adapter *a)
{
	return a->bridge.state == BRIDGE_UP;
}

static uint64_t broker_subscriptions(const struct adapter *a)
{
	return subs__broker_count(&a->core);
}

static uint64_t broker_connects(const struct adapter *a)
{
	return a->bridge.connects;
}

static uint64_t broker_disconnects(const struct adapter *a)
{
	return a->bridge.disconnects;
}

static uint64_t broker_published(const struct adapter *a)
{
	return a->bridge.published;
}

static uint64_t broker_received(const struct adapter *a)
{
	return a->bridge.received;
}

static uint64_t history_topics(const struct adapter *a)
{
	return a->hist.ntopics;
}

static uint64_t history_evicted(const struct adapter *a)
{
	return a->hist.evicted_topics;
}

static uint64_t history_size(const struct adapter *a)
{
	return a->hist.size;
}

#define STAT(field) .off = offsetof(struct stats, field)
#define COUNTER(json, prom, field, help)                               \
	{                                                              \
		json, prom, NULL, FIG_COUNTER, help, STAT(field), NULL \
	}
#define REFUSED(json, limit, field)                                                       \
	{                                                                                 \
		json, "refused_total", "limit=\"" limit "\"", FIG_COUNTER,                \
			"Connections and requests refused by a limit.", STAT(field), NULL \
	}

/*
 * In the order of /api/stats's members; /metrics gives the gauges first, then
 * the counters, each in this order. The uptime (in seconds, not a count) and
 * the per-filter subscriptions are not rows: both formats add them by hand.
 */
static const struct figure figures[] = {
	{"active_connections", NULL, NULL, FIG_GAUGE, NULL, 0, open_connections},
	COUNTER("total_connections", "connections_total", total_connections,
		"Browser connections accepted."),
	{"websocket_connections", "connections", "kind=\"ws\"", FIG_GAUGE,
		"Open browser connections.", STAT(ws_connections), NULL},
	{"sse_connections", "connections", "kind=\"sse\"", FIG_GAUGE, "Open browser connections.",
		STAT(sse_connections), NULL},
	{NULL, "broker_connected", NULL, FIG_GAUGE, "1 if the broker connection is up.", 0,
		broker_connected},
	{"broker_subscriptions", "broker_subscriptions", NULL, FIG_GAUGE,
		"Distinct filters subscribed at the broker.", 0, broker_subscriptions},
	{"history.topics", "history_topics", NULL, FIG_GAUGE, "Topics the history holds.", 0,
		history_topics},
	COUNTER("messages_sent", "messages_sent_total", messages_sent,
		"Messages sent to browsers."),
	COUNTER("messages_received", "messages_received_total", messages_received,
		"Messages received from browsers."),
	COUNTER("mqtt_messages", "mqtt_messages_total", mqtt_messages,
		"MQTT messages from the broker."),
	COUNTER("mqtt_duplicates", "mqtt_duplicates_total", mqtt_duplicates,
		"Extra copies from overlapping broker subscriptions."),
	COUNTER("dropped", "dropped_total", dropped, "Messages dropped from send queues."),
	COUNTER("gaps", "gaps_total", gaps,
		"Gap notices sent: runs of dropped messages a client was told of."),
	COUNTER("errors", "errors_total", errors, "Error replies and refused requests."),
	COUNTER("auth_failures", "auth_failures_total", auth_failures, "Tokens refused."),
	COUNTER("http_requests", "http_requests_total", http_requests, "Plain HTTP requests."),
	COUNTER("publishes", "publishes_total", publishes, "Client publishes accepted."),
	COUNTER("conflated", "conflated_total", conflated,
		"Queued messages replaced by a newer value."),
	COUNTER("slow_closed", "slow_closed_total", slow_closed,
		"Connections closed 1013: too slow."),
	COUNTER("rate_limited", "rate_limited_total", rate_limited,
		"Client messages refused by the rate limit."),
	COUNTER("rate_closed", "rate_closed_total", rate_closed,
		"Connections closed 1008 for flooding."),
	REFUSED("refused_capacity", "max_connections", refused_capacity),
	REFUSED("refused_user", "max_connections_per_user", refused_user),
	REFUSED("refused_origin", "allowed_origins", refused_origin),
	REFUSED("refused_subscriptions", "max_subscriptions", refused_subscriptions),
	COUNTER("idle_closed", "idle_closed_total", idle_closed, "WebSockets closed for silence."),
	COUNTER("calc_timeouts", "calc_timeouts_total", calc_timeouts,
		"Calculations failed by calc_timeout."),
	{"broker.connects", "broker_connects_total", NULL, FIG_COUNTER,
		"Connections made to the broker.", 0, broker_connects},
	{"broker.disconnects", "broker_disconnects_total", NULL, FIG_COUNTER,
		"Connections to the broker lost.", 0, broker_disconnects},
	{"broker.published", "broker_published_total", NULL, FIG_COUNTER,
		"Messages published to the broker.", 0, broker_published},
	{"broker.received", "broker_received_total", NULL, FIG_COUNTER,
		"Messages received from the broker.", 0, broker_received},
	{"history.evicted_topics", "history_evicted_topics_total", NULL, FIG_COUNTER,
		"Topics forgotten by the history.", 0, history_evicted},
	{"history.size", NULL, NULL, FIG_GAUGE, NULL, 0, history_size},
};

static uint64_t figure_value(const struct figure *f, const struct adapter *a)
{
	uint64_t v;

	if (f->get)
		return f->get(a);
	memcpy(&v, (const char *)&a->stats + f->off, sizeof(v));
	return v;
}

/* ---- JSON ------------------------------------------------------------------------------ */

/*
 * Adds the rows whose json name is in @section ("broker." inside "broker";
 * "" for the top level, whose names hold no '.') to obj, as numbers.
 */
static bool add_figures(cJSON *obj, const struct adapter *a, const char *section)
{
	size_t i, n = strlen(section);
	const char *name;

	for (i = 0; i < RTG_ARRAY_SIZE(figures); i++) {
		name = figures[i].json;
		if (!name || strncmp(name, section, n) || strchr(name + n, '.'))
			continue;
		if (!cJSON_AddNumberToObject(obj, name + n, (double)figure_value(&figures[i], a)))
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
	for (b = a->core.subs.by_filter; b; b = b->hh.next) {
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
		add_figures(b, a, "broker.");
}

static bool add_history(cJSON *obj, const struct adapter *a)
{
	cJSON *h = cJSON_AddObjectToObject(obj, "history");

	return h && add_figures(h, a, "history.");
}

/* The /api/stats object; the caller frees it with cJSON_Delete(). NULL on out of memory. */
cJSON *stats__json(struct adapter *a)
{
	cJSON *obj = cJSON_CreateObject();
	char ts[40];

	if (!obj || !add_figures(obj, a, "") || !add_subscriptions(obj, a) ||
		!cJSON_AddNumberToObject(obj, "uptime", uptime(a)) || !add_broker(obj, a) ||
		!add_history(obj, a) ||
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

/*
 * The rows of one type that have a metric: "# HELP" and "# TYPE" once per
 * metric (the first of its consecutive rows gives the help), then a sample.
 */
static void put_figures(struct text *t, const struct adapter *a, enum fig_type type)
{
	const char *last = NULL;
	const struct figure *f;
	size_t i;

	for (i = 0; i < RTG_ARRAY_SIZE(figures); i++) {
		f = &figures[i];
		if (!f->prom || f->type != type)
			continue;
		if (!last || strcmp(last, f->prom))
			put(t, "# HELP rtg_adapter_%s %s\n# TYPE rtg_adapter_%s %s\n", f->prom,
				f->help, f->prom, type == FIG_GAUGE ? "gauge" : "counter");
		last = f->prom;
		put(t, "rtg_adapter_%s%s%s%s %llu\n", f->prom, f->label ? "{" : "",
			f->label ? f->label : "", f->label ? "}" : "",
			(unsigned long long)figure_value(f, a));
	}
}

static void gauges(struct text *t, struct adapter *a)
{
	const struct bsub *b;

	put_figures(t, a, FIG_GAUGE);
	put(t,
		"# HELP rtg_adapter_uptime_seconds Seconds since the adapter started.\n"
		"# TYPE rtg_adapter_uptime_seconds gauge\nrtg_adapter_uptime_seconds %.0f\n",
		uptime(a));
	put(t,
		"# HELP rtg_adapter_subscriptions Client subscriptions per filter.\n"
		"# TYPE rtg_adapter_subscriptions gauge\n");
	for (b = a->core.subs.by_filter; b; b = b->hh.next) {
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
	put_figures(&t, a, FIG_COUNTER);
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
	/* either call leaves value with us when it fails */
	if (!(cJSON_HasObjectItem(a->broker_sys, key)
			    ? cJSON_ReplaceItemInObjectCaseSensitive(a->broker_sys, key, value)
			    : cJSON_AddItemToObject(a->broker_sys, key, value)))
		cJSON_Delete(value);
	return true;
}

/* Every stats_interval: {"type":"system_stats", ...adapter figures, "broker":{$SYS}}. */
static void on_stats_timer(struct wheel_timer *t)
{
	struct adapter *a = container_of(t, struct adapter, t_stats);
	cJSON *obj = NULL;
	char *text = NULL;
	size_t len;

	if (a->core.broker->up(a) && (obj = stats__json(a)) &&
		cJSON_AddStringToObject(obj, "type", "system_stats") &&
		(!a->broker_sys ||
			cJSON_AddItemToObject(obj, "broker", cJSON_Duplicate(a->broker_sys, 1))) &&
		(text = rtg_json_print(obj, &len)))
		a->core.broker->publish(a, "system/stats", text, len, true);
	rtg_json_free(text);
	cJSON_Delete(obj);
	timers__schedule(&a->core.wheel, &a->t_stats, on_stats_timer,
		(int64_t)a->cfg.stats_interval * US_PER_SEC);
}

void stats__start(struct adapter *a)
{
	if (a->cfg.stats_interval > 0)
		timers__schedule(&a->core.wheel, &a->t_stats, on_stats_timer,
			(int64_t)a->cfg.stats_interval * US_PER_SEC);
}

void stats__stop(struct adapter *a)
{
	timers__cancel(&a->t_stats);
	cJSON_Delete(a->broker_sys);
	a->broker_sys = NULL;
}
