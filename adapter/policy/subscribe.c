/*
 * subscribe.c - a client's subscriptions and the replies to them: the
 * confirmation, the history of every topic covered (in the endpoint's
 * envelope), recovery with "since", the subscriptions an endpoint makes on
 * connect (WebSocket), a replay of what a gap notice announced, and
 * a topic's retained value sent as history to a first subscriber.
 *
 * What a subscribe message means, and whether it is allowed, is request.c's
 * (the same rules serve SSE and HTTP); this file answers. It does not parse
 * frames or manage connections (transport/ws.c, sse.c).
 * One thread only: the event loop's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "rtg_json.h"
#include "rtg_topic.h"

/*
 * Adds the named levels of the topic's profile line ("ticker":"AAPL" for
 * market/{ticker}): seed 003 reads the ticker of a history reply.
 */
static bool add_topic_params(const struct session *s, cJSON *obj, const char *topic)
{
	const struct prof_topic *t = profile__topic(s->prof, topic);
	const char *o, *c;
	char name[64], value[RTG_TOPIC_LEVEL_MAX];

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

/* Runs of seq a replay asks for, at most. */
#define REPLAY_MAX_RUNS 64

/* The runs of seq a replay asks for, ascending and apart; NULL: every message held. */
struct seq_runs {
	uint64_t from[REPLAY_MAX_RUNS], to[REPLAY_MAX_RUNS];
	unsigned n;
};

static bool in_runs(const struct seq_runs *r, uint64_t seq)
{
	unsigned i;

	if (!r)
		return true;
	for (i = 0; i < r->n; i++) {
		if (seq >= r->from[i] && seq <= r->to[i])
			return true;
	}
	return false;
}

/*
 * {"type":"history","topic":T,"epoch":E,"messages":[...]} from held messages
 * after @since (and in @runs, when given), each in the session's envelope.
 */
static cJSON *history_message(struct session *s, struct topic_hist *th, uint64_t since,
	const struct seq_runs *runs, bool replay)
{
	struct adapter *a = s->a;
	struct out_msg **list = calloc(a->hist.size + 2, sizeof(*list));
	cJSON *obj = session__json_base("history"), *arr;
	const char *text;
	unsigned i, n;
	size_t len;

	if (!list || !obj)
		goto error;
	n = history__collect(th, since, list);
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
	for (i = 0; i < n; i++) {
		if (!in_runs(runs, list[i]->seq))
			continue;
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
static void send_history(struct session *s, struct topic_hist *th, uint64_t since,
	const struct seq_runs *runs, bool replay)
{
	struct out_msg **list;
	unsigned i, n;

	if (!s->ep->history_messages) {
		session__send_json(s, history_message(s, th, since, runs, replay));
		return;
	}
	list = calloc(s->a->hist.size + 2, sizeof(*list));
	if (!list)
		return;
	n = history__collect(th, since, list);
	for (i = 0; i < n; i++) {
		if (in_runs(runs, list[i]->seq))
			session__enqueue(s, list[i]);
	}
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
		send_history(w->s, th, resumable ? seq : 0, NULL, resumable);
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
	const char *p = rtg_json_get_string(msg, "policy");

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
		subs__remove(&s->a->core, cs);
		cs = subs__find(s, t->filter, NULL);
	}
	confirm(s, "unsubscribed", msg, t, POLICY_AUTO, -1);
}

void subscribe__request(struct session *s, const char *type, const cJSON *msg, bool unsubscribe)
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
 * Reads the runs of a replay: "from" and "to", or "runs": [[from, to], ...]
 * (a client told of several gaps of a topic asks for them at once), each
 * 1 <= from <= to, in ascending order and not overlapping. Returns false if malformed.
 */
static bool replay_runs(const cJSON *msg, struct seq_runs *r)
{
	const cJSON *runs = cJSON_GetObjectItemCaseSensitive(msg, "runs"), *run;
	const cJSON *from = cJSON_GetObjectItemCaseSensitive(msg, "from");
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(msg, "to");

	r->n = 0;
	if (!runs) {
		if (!cJSON_IsNumber(from) || !cJSON_IsNumber(to))
			return false;
		r->from[0] = from->valuedouble >= 1 ? (uint64_t)from->valuedouble : 0;
		r->to[0] = to->valuedouble >= 1 ? (uint64_t)to->valuedouble : 0;
		r->n = 1;
	} else if (cJSON_IsArray(runs)) {
		cJSON_ArrayForEach(run, runs) {
			const cJSON *a = cJSON_GetArrayItem(run, 0),
				    *b = cJSON_GetArrayItem(run, 1);

			if (r->n == REPLAY_MAX_RUNS || !cJSON_IsArray(run) ||
				cJSON_GetArraySize(run) != 2 || !cJSON_IsNumber(a) ||
				!cJSON_IsNumber(b))
				return false;
			r->from[r->n] = a->valuedouble >= 1 ? (uint64_t)a->valuedouble : 0;
			r->to[r->n] = b->valuedouble >= 1 ? (uint64_t)b->valuedouble : 0;
			if (r->n && r->from[r->n] <= r->to[r->n - 1])
				return false;
			r->n++;
		}
	}
	for (unsigned i = 0; i < r->n; i++) {
		if (!r->from[i] || r->to[i] < r->from[i] || r->to[i] > (1ull << 53))
			return false;
	}
	return r->n > 0;
}

/*
 * {"type":"replay","topic":T,"epoch":E,"from":A,"to":B} (or "runs":[[A,B],...]):
 * the held messages of T with those seq, asked for after gap notices (gap.c)
 * that said they could be had ("fillable"). The answer is one "history"
 * message with "replay":true, "from" (the first run's) and "to" (the last
 * run's), or an error when the history no longer holds them all. A client may
 * replay what it may read (the ACL), subscribed or not: a subscribe with
 * "since" would give it as much.
 */
void subscribe__replay(struct session *s, const cJSON *msg)
{
	const char *topic = rtg_json_get_string(msg, "topic"),
		   *epoch = rtg_json_get_string(msg, "epoch");
	struct seq_runs runs;
	struct topic_hist *th;
	char why[256];
	cJSON *obj;

	if (!topic || !epoch || !replay_runs(msg, &runs)) {
		session__send_error(s,
			"replay needs \"topic\", \"epoch\" and 1 <= \"from\" <= \"to\" (or \"runs\": "
			"up to %d [from, to] pairs in ascending order, not overlapping)",
			REPLAY_MAX_RUNS);
		return;
	}
	if (!rtg_topic_name_valid(topic) ||
		!auth__allowed(s->a, s, topic, RTG_ACCESS_READ, why, sizeof(why))) {
		session__send_error(s, "replay of '%.128s' refused: %s", topic,
			rtg_topic_name_valid(topic) ? why : "not a topic name");
		return;
	}
	th = history__find(&s->a->hist, topic);
	if (!th || runs.to[runs.n - 1] > th->last_seq ||
		!history__can_resume(th, epoch, runs.from[0] - 1)) {
		session__send_error(s, "replay of '%.128s' %llu..%llu: no longer held", topic,
			(unsigned long long)runs.from[0], (unsigned long long)runs.to[runs.n - 1]);
		return;
	}
	if (s->ep->history_messages) {
		send_history(s, th, runs.from[0] - 1, &runs, true);
		return;
	}
	obj = history_message(s, th, runs.from[0] - 1, &runs, true);
	if (obj &&
		(!cJSON_AddNumberToObject(obj, "from", (double)runs.from[0]) ||
			!cJSON_AddNumberToObject(obj, "to", (double)runs.to[runs.n - 1]))) {
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
void subscribe__endpoint(struct session *s)
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
void subscribe__snapshot(struct session *s, struct out_msg *m)
{
	struct topic_hist *th = history__find(&s->a->hist, m->topic);
	cJSON *obj;

	if (!th)
		return;
	if (s->ep->history_messages) {
		send_history(s, th, 0, NULL, false);
		return;
	}
	if (!snap.hist || snap.gseq != m->gseq || snap.env != s->ep->env->id) {
		subscribe__cleanup();
		obj = history_message(s, th, 0, NULL, false);
		snap.hist = msg__from_json(obj);
		cJSON_Delete(obj);
		snap.gseq = m->gseq;
		snap.env = s->ep->env->id;
	}
	session__enqueue(s, snap.hist);
}

/* Lets go of the shared snapshot (at shutdown; the next snapshot replaces it anyway). */
void subscribe__cleanup(void)
{
	msg__unref(snap.hist);
	snap.hist = NULL;
}
