/*
 * ws_subscribe.c - what a client message asks for, in every form the seed
 * applications use, turned into MQTT filters; and the replies to it:
 * confirmation, history, recovery with "since", publish and calculate.
 *
 * Every form resolves to a list of (filter, label) targets: the canonical
 * {"topic": F}, channel names, tickers, symbols, rooms and notification types.
 * Each target is checked against the ACL before anything is subscribed. It
 * does not parse frames or manage connections (ws.c). lws thread only.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "rtg_topic.h"

#define MAX_TARGETS 4
#define MAX_NAME 128

struct target {
	char filter[512];
	char label[MAX_NAME];
	bool own_calcs; /* the adapter grants it: only this user's calculations pass */
};

/* ---- resolving the forms ------------------------------------------------------------- */

static const char *str_field(const cJSON *msg, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(msg, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static bool level_ok(const char *name)
{
	return rtg_topic_level_valid(name, MAX_NAME);
}

__attribute__((format(printf, 4, 5))) static int add_target(
	struct target *t, int *n, const char *label, const char *fmt, ...)
{
	va_list ap;

	if (*n >= MAX_TARGETS)
		return -1;
	va_start(ap, fmt);
	vsnprintf(t[*n].filter, sizeof(t[*n].filter), fmt, ap);
	va_end(ap);
	snprintf(t[*n].label, sizeof(t[*n].label), "%s", label);
	t[*n].own_calcs = false;
	(*n)++;
	return 0;
}

/*
 * Channel names of the seed applications. The user's own topics use its
 * subject. Returns the number of targets, 0 for an unknown channel.
 */
static int channel_targets(struct session *s, const char *ch, const cJSON *msg, struct target *t)
{
	const char *me = s->id->sub, *ticker;
	int n = 0;

	if (!strcmp(ch, "market_data")) {
		add_target(t, &n, ch, "%s", "market/+");
	} else if (!strcmp(ch, "notifications")) {
		add_target(t, &n, ch, "user/%s/notifications", me);
	} else if (!strcmp(ch, "system")) {
		add_target(t, &n, ch, "%s", "system/announcements");
		add_target(t, &n, ch, "%s", "system/stats");
	} else if (!strcmp(ch, "patterns")) {
		add_target(t, &n, ch, "%s", "market/patterns/+");
	} else if (!strcmp(ch, "alerts")) {
		add_target(t, &n, ch, "user/%s/alerts", me);
	} else if (!strcmp(ch, "market_status")) {
		add_target(t, &n, ch, "%s", "market/status");
	} else if (!strcmp(ch, "credit_updates")) {
		add_target(t, &n, ch, "user/%s/credit", me);
	} else if (!strcmp(ch, "transactions")) {
		add_target(t, &n, ch, "user/%s/transactions", me);
	} else if (!strcmp(ch, "balance")) {
		add_target(t, &n, ch, "user/%s/balance", me);
	} else if (!strcmp(ch, "calculations")) {
		add_target(t, &n, ch, "%s", "calc/+/progress");
		t[0].own_calcs = true;
	} else if (!strcmp(ch, "ticker")) {
		ticker = str_field(msg, "ticker");
		if (!level_ok(ticker))
			return -1;
		add_target(t, &n, ticker, "market/%s", ticker);
	}
	return n;
}

static bool is_channel(const char *name)
{
	static const char *const names[] = {"market_data", "notifications", "system", "patterns",
		"alerts", "market_status", "credit_updates", "transactions", "balance",
		"calculations"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(name, names[i]))
			return true;
	}
	return false;
}

/*
 * Resolves a (un)subscribe message of any form into targets. Returns their
 * number, or -1 with err set (the client gets it as an error message).
 */
static int resolve(struct session *s, const char *type, const cJSON *msg, struct target *t,
	char *err, size_t errlen)
{
	const char *v;
	int n = 0;

	if ((v = str_field(msg, "topic"))) {
		if (!rtg_topic_filter_valid(v) || strlen(v) >= sizeof(t->filter))
			goto bad_filter;
		add_target(t, &n, v, "%s", v);
		return n;
	}
	if ((v = str_field(msg, "channel")) || (v = str_field(msg, "subscription"))) {
		n = channel_targets(s, v, msg, t);
		if (n > 0)
			return n;
		snprintf(err, errlen,
			n < 0 ? "channel 'ticker' needs a valid \"ticker\""
			      : "unknown channel '%.64s'",
			v);
		return -1;
	}
	if ((v = str_field(msg, "symbol")) || (v = str_field(msg, "ticker"))) {
		if (!level_ok(v))
			goto bad_name;
		add_target(t, &n, v, "market/%s", v);
		return n;
	}
	if ((v = str_field(msg, "room"))) {
		if (is_channel(v))
			return channel_targets(s, v, msg, t);
		if (!level_ok(v))
			goto bad_name;
		add_target(t, &n, v, "rooms/%s", v);
		return n;
	}
	if (strstr(type, "notifications")) {
		add_target(t, &n, "notifications", "user/%s/notifications", s->id->sub);
		return n;
	}
	snprintf(err, errlen,
		"%s needs one of \"topic\", \"channel\", \"subscription\", "
		"\"symbol\", \"ticker\" or \"room\"",
		type);
	return -1;
bad_filter:
	snprintf(err, errlen, "invalid topic filter '%.128s'", v);
	return -1;
bad_name:
	snprintf(err, errlen, "invalid name '%.64s'", v);
	return -1;
}

/* ---- history and recovery ---------------------------------------------------------- */

/* {"type":"history","topic":T,"epoch":E,"messages":[...]} from held messages. */
static cJSON *history_message(struct adapter *a, struct topic_hist *th, uint64_t since, bool replay)
{
	struct out_msg **list = calloc(a->hist.size + 2, sizeof(*list));
	cJSON *obj = session__json_base("history"), *arr;
	unsigned i, n;

	if (!list || !obj)
		goto error;
	n = history__collect(&a->hist, th, since, list);
	if (!cJSON_AddStringToObject(obj, "topic", th->topic) ||
		!cJSON_AddStringToObject(obj, "epoch", th->epoch) ||
		!cJSON_AddNumberToObject(obj, "last_seq", (double)th->last_seq) ||
		(replay && !cJSON_AddTrueToObject(obj, "replay")))
		goto error;
	arr = cJSON_AddArrayToObject(obj, "messages");
	if (!arr)
		goto error;
	/* The messages are already JSON text: splice them in raw, no re-parse. */
	for (i = 0; i < n; i++) {
		if (!cJSON_AddItemToArray(arr, cJSON_CreateRaw(MSG_TEXT(list[i]))))
			goto error;
	}
	free(list);
	return obj;
error:
	free(list);
	cJSON_Delete(obj);
	return NULL;
}

/* The client's position in one topic, from "since": {epoch, seq} or {topic: {epoch, seq}}. */
static bool since_for(const cJSON *since, const char *filter, const char *topic, const char **epoch,
	uint64_t *seq)
{
	const cJSON *pos = since, *e, *q;

	if (!cJSON_IsObject(since))
		return false;
	if (!cJSON_HasObjectItem(since, "epoch"))
		pos = cJSON_GetObjectItemCaseSensitive(since, topic);
	else if (strcmp(filter, topic) != 0)
		return false; /* one position for a wildcard filter is ambiguous */
	e = cJSON_GetObjectItemCaseSensitive(pos, "epoch");
	q = cJSON_GetObjectItemCaseSensitive(pos, "seq");
	/* past 2^53 a JSON number is no longer an exact seq: no position, like a bad one */
	if (!cJSON_IsString(e) || !cJSON_IsNumber(q) || q->valuedouble < 0 ||
		q->valuedouble >= 9007199254740992.0)
		return false;
	*epoch = e->valuestring;
	*seq = (uint64_t)q->valuedouble;
	return true;
}

struct hist_walk {
	struct session *s;
	const char *filter;
	const cJSON *since;
	bool recovered;
	bool send;
};

static void hist_topic(struct topic_hist *th, void *arg)
{
	struct hist_walk *w = arg;
	const char *epoch;
	uint64_t seq = 0;
	bool resumable = false;

	if (w->since && since_for(w->since, w->filter, th->topic, &epoch, &seq))
		resumable = history__can_resume(th, epoch, seq);
	else if (w->since)
		seq = 0; /* the client never saw this topic: everything is new to it */
	if (w->since && !resumable && seq)
		w->recovered = false;
	if (w->send)
		session__send_json(
			w->s, history_message(w->s->a, th, resumable ? seq : 0, resumable));
}

/*
 * Says whether every position in "since" can be resumed: a position for a
 * topic the adapter no longer holds (or under another epoch) cannot.
 */
static bool since_all_known(struct adapter *a, const char *filter, const cJSON *since)
{
	const cJSON *pos;

	if (cJSON_HasObjectItem(since, "epoch"))
		return history__find(&a->hist, filter) != NULL;
	cJSON_ArrayForEach(pos, since) {
		if (pos->string && !history__find(&a->hist, pos->string))
			return false;
	}
	return true;
}

/* ---- subscribe / unsubscribe -------------------------------------------------------- */

static enum sub_policy policy_of(const cJSON *msg, const char *filter, bool *bad)
{
	const char *p = str_field(msg, "policy");

	*bad = false;
	if (!p)
		return subs__default_policy(filter);
	if (!strcmp(p, "queue"))
		return POLICY_QUEUE;
	if (!strcmp(p, "conflate"))
		return POLICY_CONFLATE;
	if (!strcmp(p, "disconnect"))
		return POLICY_DISCONNECT;
	if (!strcmp(p, "auto"))
		return POLICY_AUTO;
	*bad = true;
	return POLICY_QUEUE;
}

static const char *policy_name(enum sub_policy p)
{
	static const char *const names[] = {
		[POLICY_QUEUE] = "queue",
		[POLICY_CONFLATE] = "conflate",
		[POLICY_DISCONNECT] = "disconnect",
		[POLICY_AUTO] = "auto",
	};

	return names[p];
}

/* Copies the "types" array of subscribe_notifications onto the subscription. */
static int set_types(struct csub *cs, const cJSON *types)
{
	const cJSON *t;
	size_t n = 0;

	cJSON_ArrayForEach(t, types) {
		if (!cJSON_IsString(t))
			return -1;
		n++;
	}
	if (!n)
		return 0;
	cs->types = calloc(n, sizeof(*cs->types));
	if (!cs->types)
		return -1;
	cJSON_ArrayForEach(t, types) {
		cs->types[cs->ntypes] = strdup(t->valuestring);
		if (!cs->types[cs->ntypes])
			return -1;
		cs->ntypes++;
	}
	return 0;
}

static void confirm(struct session *s, const char *action, const struct target *t,
	enum sub_policy policy, int recovered)
{
	cJSON *obj = session__json_base("subscription");

	if (!obj)
		return;
	cJSON_AddStringToObject(obj, "action", action);
	cJSON_AddStringToObject(obj, "topic", t->filter);
	if (strcmp(t->label, t->filter))
		cJSON_AddStringToObject(obj, "channel", t->label);
	if (!strcmp(action, "subscribed"))
		cJSON_AddStringToObject(obj, "policy", policy_name(policy));
	if (recovered >= 0)
		cJSON_AddBoolToObject(obj, "recovered", recovered);
	session__send_json(s, obj);
}

/* Subscribes one target, replies, then sends its history (or what was missed). */
static void subscribe_one(struct session *s, const cJSON *msg, const struct target *t)
{
	struct adapter *a = s->a;
	const cJSON *since = cJSON_GetObjectItemCaseSensitive(msg, "since");
	struct hist_walk w = {.s = s, .filter = t->filter, .since = since, .recovered = true};
	enum sub_policy policy;
	struct csub *cs;
	char why[128];
	bool bad;

	policy = policy_of(msg, t->filter, &bad);
	if (bad) {
		session__send_error(s, "unknown policy (use auto, conflate, queue or disconnect)");
		return;
	}
	if (!t->own_calcs &&
		!auth__allowed(a, s, t->filter, RTG_ACCESS_SUBSCRIBE, why, sizeof(why))) {
		session__send_error(s, "cannot subscribe to '%s': %s", t->filter, why);
		return;
	}
	cs = subs__find(s, t->filter, t->label);
	if (!cs && s->subs.count >= (unsigned)a->cfg.max_subscriptions) {
		a->stats.refused_subscriptions++;
		session__send_error(s,
			"cannot subscribe to '%s': subscription limit reached (%d per "
			"connection)",
			t->filter, a->cfg.max_subscriptions);
		return;
	}
	if (!cs) {
		cs = subs__add(a, s, t->filter, t->label, policy);
		if (!cs || set_types(cs, cJSON_GetObjectItemCaseSensitive(msg, "types")) ||
			(t->own_calcs && !(cs->owner = strdup(s->id->sub)))) {
			if (cs)
				subs__remove(a, cs);
			session__send_error(
				s, "cannot subscribe to '%s': out of memory", t->filter);
			return;
		}
		cs->system = t->own_calcs;
	}
	if (since) {
		history__foreach_match(&a->hist, t->filter, hist_topic, &w);
		w.recovered = w.recovered && since_all_known(a, t->filter, since);
	}
	confirm(s, "subscribed", t, policy, since ? w.recovered : -1);
	w.send = true;
	w.recovered = true;
	if (!t->own_calcs)
		history__foreach_match(&a->hist, t->filter, hist_topic, &w);
}

void wsub__subscribe(struct session *s, const char *type, const cJSON *msg, bool unsubscribe)
{
	struct target t[MAX_TARGETS];
	char err[256];
	struct csub *cs;
	int n, i;

	n = resolve(s, type, msg, t, err, sizeof(err));
	if (n < 0) {
		session__send_error(s, "%s", err);
		return;
	}
	for (i = 0; i < n; i++) {
		if (!unsubscribe) {
			subscribe_one(s, msg, &t[i]);
			continue;
		}
		cs = subs__find(s, t[i].filter, NULL);
		if (!cs) {
			session__send_error(s, "not subscribed to '%s'", t[i].filter);
			continue;
		}
		while (cs) {
			subs__remove(s->a, cs);
			cs = subs__find(s, t[i].filter, NULL);
		}
		confirm(s, "unsubscribed", &t[i], POLICY_QUEUE, -1);
	}
}

/* ---- publish ---------------------------------------------------------------------- */

/*
 * Publishes for the client where the ACL lets it write. A string payload goes
 * as its bytes, anything else as its JSON text. Returns 0 or -1 (err set);
 * shared by the WebSocket "publish" message and POST /api/publish.
 */
int wsub__publish(struct session *s, const cJSON *msg, char *err, size_t errlen)
{
	const char *topic = str_field(msg, "topic");
	const cJSON *payload = cJSON_GetObjectItemCaseSensitive(msg, "payload");
	const cJSON *retain = cJSON_GetObjectItemCaseSensitive(msg, "retain");
	char why[128], *text = NULL;
	const char *bytes;
	int rc;

	if (!topic || !rtg_topic_name_valid(topic)) {
		snprintf(err, errlen, "publish needs a valid \"topic\" (no wildcards)");
		return -1;
	}
	if (!payload || (retain && !cJSON_IsBool(retain))) {
		snprintf(err, errlen,
			"publish needs a \"payload\" (and \"retain\" must be a boolean)");
		return -1;
	}
	if (!auth__allowed(s->a, s, topic, RTG_ACCESS_WRITE, why, sizeof(why))) {
		snprintf(err, errlen, "cannot publish to '%.200s': %s", topic, why);
		return -1;
	}
	bytes = cJSON_IsString(payload) ? payload->valuestring
					: (text = cJSON_PrintUnformatted(payload));
	if (!bytes) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = bridge__publish(s->a, topic, bytes, strlen(bytes), cJSON_IsTrue(retain));
	free(text);
	if (rc) {
		snprintf(err, errlen, "the broker is not available; try again");
		return -1;
	}
	s->a->stats.publishes++;
	return 0;
}

/* ---- calculate -------------------------------------------------------------------- */

/*
 * The broker topic of a user's calculation: calc/<sub>~<id>/<leaf>. Putting
 * the subject in the topic keeps users' calculations apart without any state
 * in the adapter, so a client can never pick another user's id. Returns -1 if
 * sub or id cannot be used inside one topic level.
 */
int wsub__calc_topic(const char *sub, const char *id, const char *leaf, char *buf, size_t len)
{
	int n;

	if (!level_ok(sub) || !level_ok(id) || strchr(id, '~'))
		return -1;
	n = snprintf(buf, len, "calc/%s~%s/%s", sub, id, leaf);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * Starts a calculation: publishes the request (with the requesting user) to
 * calc/<sub>~<id>/request and subscribes this session to its progress.
 * Returns 0 with the id in idbuf, or -1 with err set. Used by the WebSocket
 * "calculate" message and POST /api/calculations.
 */
int wsub__start_calc(
	struct session *s, const cJSON *msg, char *idbuf, size_t idlen, char *err, size_t errlen)
{
	const char *kind = str_field(msg, "calculation_type"),
		   *id = str_field(msg, "calculation_id");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "parameters");
	char topic[512], ts[40];
	cJSON *req = NULL;
	char *text = NULL;
	int rc = -1;

	if (!kind || !level_ok(kind) || (params && !cJSON_IsObject(params))) {
		snprintf(err, errlen,
			"calculate needs a \"calculation_type\" and an object "
			"\"parameters\"");
		return -1;
	}
	if (!id) {
		snprintf(idbuf, idlen, "c%s%llu", s->a->hist.epoch,
			(unsigned long long)++s->a->hist.next_id);
		id = idbuf;
	} else {
		snprintf(idbuf, idlen, "%s", id);
	}
	if (wsub__calc_topic(s->id->sub, id, "request", topic, sizeof(topic))) {
		snprintf(err, errlen, "invalid calculation_id '%.64s'", id);
		return -1;
	}
	req = cJSON_CreateObject();
	if (!req || !cJSON_AddStringToObject(req, "type", "calculate") ||
		!cJSON_AddStringToObject(req, "calculation_id", id) ||
		!cJSON_AddStringToObject(req, "calculation_type", kind) ||
		!cJSON_AddItemToObject(req, "parameters",
			params ? cJSON_Duplicate(params, 1) : cJSON_CreateObject()) ||
		!cJSON_AddStringToObject(req, "user_id", s->id->sub) ||
		!cJSON_AddStringToObject(req, "requested_at", session__iso_time(ts, sizeof(ts))) ||
		!(text = cJSON_PrintUnformatted(req))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* Follow the progress before asking, so no update can be missed. */
	wsub__calc_topic(s->id->sub, id, "progress", topic, sizeof(topic));
	if (!subs__find(s, topic, NULL)) {
		struct csub *cs = subs__add(s->a, s, topic, id, POLICY_QUEUE);

		if (cs)
			cs->system = true;
	}
	wsub__calc_topic(s->id->sub, id, "request", topic, sizeof(topic));
	if (bridge__publish(s->a, topic, text, strlen(text), false)) {
		snprintf(err, errlen, "the broker is not available; try again");
		goto out;
	}
	if (calc__watch(s, id)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(text);
	cJSON_Delete(req);
	return rc;
}
