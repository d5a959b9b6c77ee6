/*
 * ws_subscribe.c - a WebSocket client's subscriptions and the replies to them:
 * the confirmation, the history of every topic covered (in the endpoint's
 * envelope), recovery with "since", the subscriptions an endpoint makes on
 * connect, and a topic's retained value sent as history to a first
 * subscriber.
 *
 * What a subscribe message means, and whether it is allowed, is request.c's
 * (the same rules serve SSE); this file only answers. It does not parse
 * frames or manage connections (ws.c). lws thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "rtg_topic.h"

static const char *str_field(const cJSON *msg, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(msg, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

/*
 * Adds the named levels of the topic's profile line ("ticker":"AAPL" for
 * market/{ticker}): seed 003 reads the ticker of a history reply.
 */
static bool add_topic_params(const struct session *s, cJSON *obj, const char *topic)
{
	const struct prof_topic *t = profile__topic(s->prof, topic);
	const char *o, *c;
	char name[64], value[128];

	for (o = t ? strchr(t->tmpl, '{') : NULL; o; o = strchr(c, '{')) {
		c = strchr(o, '}');
		if (!c || (size_t)(c - o) > sizeof(name))
			break;
		snprintf(name, sizeof(name), "%.*s", (int)(c - o - 1), o + 1);
		if (profile__topic_param(t, topic, name, value, sizeof(value)) &&
			!cJSON_AddStringToObject(obj, name, value))
			return false;
	}
	return true;
}

/* ---- history and recovery ---------------------------------------------------------- */

/* No upper bound on the seq of a history. */
#define ALL_SEQ UINT64_MAX

/*
 * {"type":"history","topic":T,"epoch":E,"messages":[...]} from held messages
 * up to seq @until, each in the session's envelope.
 */
static cJSON *history_message(
	struct session *s, struct topic_hist *th, uint64_t since, uint64_t until, bool replay)
{
	struct adapter *a = s->a;
	struct out_msg **list = calloc(a->hist.size + 2, sizeof(*list));
	cJSON *obj = session__json_base("history"), *arr;
	const char *text;
	unsigned i, n;
	size_t len;

	if (!list || !obj)
		goto error;
	n = history__collect(&a->hist, th, since, list);
	if (!cJSON_AddStringToObject(obj, "topic", th->topic) ||
		!add_topic_params(s, obj, th->topic) ||
		!cJSON_AddStringToObject(obj, "epoch", th->epoch) ||
		!cJSON_AddNumberToObject(obj, "last_seq", (double)th->last_seq) ||
		(replay && !cJSON_AddTrueToObject(obj, "replay")))
		goto error;
	arr = cJSON_AddArrayToObject(obj, "messages");
	if (!arr)
		goto error;
	/* The messages are already JSON text: splice them in raw, no re-parse. */
	for (i = 0; i < n && list[i]->seq <= until; i++) {
		text = msg__text_env(list[i], s->ep->env, &len);
		if (text && !cJSON_AddItemToArray(arr, cJSON_CreateRaw(text)))
			goto error;
	}
	free(list);
	return obj;
error:
	free(list);
	cJSON_Delete(obj);
	return NULL;
}

/*
 * A topic's history for the client: one "history" message, or, on an endpoint
 * whose seed knows no such message ("history messages"), the messages
 * themselves, as if they had just arrived (seq and epoch tell them apart).
 */
static void send_history(
	struct session *s, struct topic_hist *th, uint64_t since, uint64_t until, bool replay)
{
	struct out_msg **list;
	unsigned i, n;

	if (!s->ep->history_messages) {
		session__send_json(s, history_message(s, th, since, until, replay));
		return;
	}
	list = calloc(s->a->hist.size + 2, sizeof(*list));
	if (!list)
		return;
	n = history__collect(&s->a->hist, th, since, list);
	for (i = 0; i < n && list[i]->seq <= until; i++)
		session__enqueue(s, list[i]);
	free(list);
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
	/* a stale topic was not followed since: the broker sends its value again (a new epoch) */
	if (w->send && !th->stale)
		send_history(w->s, th, resumable ? seq : 0, ALL_SEQ, resumable);
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

static enum sub_policy policy_of(const cJSON *msg, bool *bad)
{
	const char *p = str_field(msg, "policy");

	*bad = false;
	if (!p || !strcmp(p, "auto"))
		return POLICY_AUTO;
	if (!strcmp(p, "queue"))
		return POLICY_QUEUE;
	if (!strcmp(p, "conflate"))
		return POLICY_CONFLATE;
	if (!strcmp(p, "disconnect"))
		return POLICY_DISCONNECT;
	*bad = true;
	return POLICY_AUTO;
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

/* Echoed names: at most this many of the request's short string members. */
#define ECHO_MAX 8
#define ECHO_LEN 128

/*
 * {"type":"subscription","action":...,"topic":F} with the names the client
 * used echoed (channel, ticker, symbol, room...: seed 003 reads "ticker"),
 * and the channel a form meant when the client did not name one.
 */
static void confirm(struct session *s, const char *action, const cJSON *msg,
	const struct req_target *t, enum sub_policy policy, int recovered)
{
	cJSON *obj = session__json_base("subscription");
	const cJSON *item;
	int echoed = 0;

	if (!obj || !cJSON_AddStringToObject(obj, "action", action) ||
		!cJSON_AddStringToObject(obj, "topic", t->filter))
		goto error;
	cJSON_ArrayForEach(item, msg) {
		if (!cJSON_IsString(item) || !item->string || echoed == ECHO_MAX ||
			strlen(item->valuestring) > ECHO_LEN ||
			cJSON_GetObjectItemCaseSensitive(obj, item->string) ||
			!strcmp(item->string, "policy") || !strcmp(item->string, "token"))
			continue;
		if (!cJSON_AddStringToObject(obj, item->string, item->valuestring))
			goto error;
		echoed++;
	}
	if ((t->channel && !cJSON_HasObjectItem(obj, "channel") &&
		    !cJSON_AddStringToObject(obj, "channel", t->channel)) ||
		(!strcmp(action, "subscribed") &&
			!cJSON_AddStringToObject(obj, "policy", policy_name(policy))) ||
		(recovered >= 0 && !cJSON_AddBoolToObject(obj, "recovered", recovered)))
		goto error;
	session__send_json(s, obj);
	return;
error:
	cJSON_Delete(obj);
}

/*
 * Subscribes one target, replies, then sends its history (or what was missed).
 * @quiet: a refusal is no error (an endpoint's own subscription that an
 * anonymous client may not have).
 */
static void subscribe_one(
	struct session *s, const cJSON *msg, const struct req_target *t, bool quiet)
{
	struct adapter *a = s->a;
	const cJSON *since = cJSON_GetObjectItemCaseSensitive(msg, "since");
	struct hist_walk w = {.s = s, .filter = t->filter, .since = since, .recovered = true};
	enum sub_policy policy;
	char err[320];
	int status;
	bool bad;

	policy = policy_of(msg, &bad);
	if (bad) {
		session__send_error(s, "unknown policy (use auto, conflate, queue or disconnect)");
		return;
	}
	if (!req__subscribe(s, t, policy, cJSON_GetObjectItemCaseSensitive(msg, "types"), &status,
		    err, sizeof(err))) {
		if (!quiet)
			session__send_error(s, "%s", err);
		return;
	}
	if (since) {
		history__foreach_match(&a->hist, t->filter, hist_topic, &w);
		w.recovered = w.recovered && since_all_known(a, t->filter, since);
	}
	confirm(s, "subscribed", msg, t, policy, since ? w.recovered : -1);
	w.send = true;
	w.recovered = true;
	history__foreach_match(&a->hist, t->filter, hist_topic, &w);
}

static void unsubscribe_one(struct session *s, const cJSON *msg, const struct req_target *t)
{
	struct csub *cs = subs__find(s, t->filter, NULL);

	if (!cs) {
		session__send_error(s, "not subscribed to '%s'", t->filter);
		return;
	}
	while (cs) {
		subs__remove(s->a, cs);
		cs = subs__find(s, t->filter, NULL);
	}
	confirm(s, "unsubscribed", msg, t, POLICY_AUTO, -1);
}

void wsub__subscribe(struct session *s, const char *type, const cJSON *msg, bool unsubscribe)
{
	struct req_target t[REQ_MAX_TARGETS];
	char err[256];
	int n, i;

	n = req__resolve(s, type, msg, t, REQ_MAX_TARGETS, err, sizeof(err));
	if (n < 0) {
		session__send_error(s, "%s", err);
		return;
	}
	for (i = 0; i < n; i++) {
		if (unsubscribe)
			unsubscribe_one(s, msg, &t[i]);
		else
			subscribe_one(s, msg, &t[i], false);
	}
}

/*
 * {"type":"replay","topic":T,"epoch":E,"from":A,"to":B}: the held messages of
 * T with seq A..B, asked for after a gap notice (gap.c) that said they could
 * be had ("fillable"). The answer is a "history" message with "replay":true
 * and "from"/"to", or an error when the history no longer holds them all. A
 * client may replay what it may read (the ACL), subscribed or not: a
 * subscribe with "since" would give it as much.
 */
void wsub__replay(struct session *s, const cJSON *msg)
{
	const char *topic = str_field(msg, "topic"), *epoch = str_field(msg, "epoch");
	const cJSON *from = cJSON_GetObjectItemCaseSensitive(msg, "from");
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(msg, "to");
	struct topic_hist *th;
	char why[256];
	cJSON *obj;

	if (!topic || !epoch || !cJSON_IsNumber(from) || !cJSON_IsNumber(to) ||
		from->valuedouble < 1 || to->valuedouble < from->valuedouble ||
		to->valuedouble > (double)(1ull << 53)) {
		session__send_error(s, "replay needs \"topic\", \"epoch\" and 1 <= \"from\" <= \"to\"");
		return;
	}
	if (!rtg_topic_name_valid(topic) ||
		!auth__allowed(s->a, s, topic, RTG_ACCESS_READ, why, sizeof(why))) {
		session__send_error(s, "replay of '%.128s' refused: %s", topic,
			rtg_topic_name_valid(topic) ? why : "not a topic name");
		return;
	}
	th = history__find(&s->a->hist, topic);
	if (!th || (uint64_t)to->valuedouble > th->last_seq ||
		!history__can_resume(th, epoch, (uint64_t)from->valuedouble - 1)) {
		session__send_error(s, "replay of '%.128s' %.0f..%.0f: no longer held", topic,
			from->valuedouble, to->valuedouble);
		return;
	}
	if (s->ep->history_messages) {
		send_history(s, th, (uint64_t)from->valuedouble - 1, (uint64_t)to->valuedouble, true);
		return;
	}
	obj = history_message(s, th, (uint64_t)from->valuedouble - 1, (uint64_t)to->valuedouble, true);
	if (obj && (!cJSON_AddNumberToObject(obj, "from", from->valuedouble) ||
			   !cJSON_AddNumberToObject(obj, "to", to->valuedouble))) {
		cJSON_Delete(obj);
		obj = NULL;
	}
	session__send_json(s, obj);
}

/*
 * The endpoint's own subscriptions, made on connect as if the client had
 * asked: each confirmed, with its history. A refused one is an error and the
 * connection stays; an anonymous client just goes without those that need a
 * user (the greeting told it it is anonymous).
 */
void wsub__subscribe_endpoint(struct session *s)
{
	struct req_target t[REQ_MAX_TARGETS];
	char err[256];
	int n, i;
	size_t k;

	for (k = 0; k < s->ep->nsubscribe; k++) {
		n = req__resolve_line(s, s->ep->subscribe[k], t, REQ_MAX_TARGETS, err, sizeof(err));
		if (n < 0 && !s->anonymous)
			session__send_error(s, "%s", err);
		for (i = 0; i < n; i++)
			subscribe_one(s, NULL, &t[i], s->anonymous);
	}
}

/*
 * The history message of the last snapshot (one message, one envelope): a
 * broker snapshot goes to every session that follows the topic, one after
 * the other in the same fan-out (after a broker reconnect, thousands of them
 * per topic), so the message is built once and shared, like any other.
 * Keyed by gseq, which no two messages share (a pointer could be reused).
 */
static struct {
	uint64_t gseq;
	uint32_t env;
	struct out_msg *hist;
} snap;

/*
 * A retained value the broker sent for a new subscription (session.c
 * session__deliver()): the client learns the topic's state as a history
 * message, as every later subscriber does from the adapter's own history.
 */
void wsub__snapshot(struct session *s, struct out_msg *m)
{
	struct topic_hist *th = history__find(&s->a->hist, m->topic);
	cJSON *obj;

	if (!th)
		return;
	if (s->ep->history_messages) {
		send_history(s, th, 0, ALL_SEQ, false);
		return;
	}
	if (!snap.hist || snap.gseq != m->gseq || snap.env != s->ep->env->id) {
		wsub__cleanup();
		obj = history_message(s, th, 0, ALL_SEQ, false);
		snap.hist = msg__from_json(obj);
		cJSON_Delete(obj);
		snap.gseq = m->gseq;
		snap.env = s->ep->env->id;
	}
	session__enqueue(s, snap.hist);
}

/* Lets go of the shared snapshot (at shutdown; the next snapshot replaces it anyway). */
void wsub__cleanup(void)
{
	msg__unref(snap.hist);
	snap.hist = NULL;
}
