/*
 * gap.c - what a client missed, told before anything that follows it.
 *
 * When a session's send queue is full, its oldest data messages make room
 * (session.c). Each one let go is noted here as part of a gap: a run of
 * consecutive seq of one topic and epoch. Before the writer sends anything
 * more from the queue it sends a notice for every noted gap:
 *
 *   {"type":"gap","topic":T,"epoch":E,"from":A,"to":B,"count":N,
 *    "fillable":true,"timestamp":...}
 *
 * Everything the session is sent after a notice is newer than the gap, and
 * nothing is sent between the drop and the notice, so a client reads every
 * message of a topic in seq order, or a notice that says exactly which seq it
 * will never read from this stream. "fillable" says whether the topic's
 * history still holds the run: then {"type":"replay","topic":T,"epoch":E,
 * "from":A,"to":B} (policy/subscribe.c) brings exactly those messages back. The
 * JS client and rtg-sub do that by themselves.
 *
 * A gap is noted against the session, not the queue, so notices never fill
 * the queue and are never dropped themselves; a later drop of the next seq
 * of the same topic only extends an unsent notice. The notes are bounded by
 * GAP_MAX_PENDING distinct runs: a client that far behind is closed as too
 * slow (1013).
 * One thread only: the event loop's.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* Distinct runs noted and not yet told, at most, before the client is closed. */
#define GAP_MAX_PENDING 256

/*
 * Notes that @m, a data message, was let go from s's queue. Returns 0, or -1
 * when s has too many runs noted (or no memory): the caller closes it. The
 * run is of m's own epoch, not its topic's now: a topic that restarted while
 * m waited (the broker connection dropped) has a new epoch whose seq 1..
 * are still to be sent.
 */
int gap__note(struct session *s, const struct out_msg *m)
{
	char epoch[sizeof(s->gaps->epoch)];
	struct gap *g;
	unsigned i;

	msg__epoch(m, epoch, sizeof(epoch));
	for (i = s->ngaps; i-- > 0;) {
		g = &s->gaps[i];
		/* the oldest run's notice may be made (gap__peek) and being written: it stays
		 * as it is told, and what is dropped now starts a run of its own */
		if (i == 0 && s->gap_msg)
			break;
		if (g->to + 1 == m->seq && !strcmp(g->topic, m->topic) &&
			!strcmp(g->epoch, epoch)) {
			g->to = m->seq;
			return 0;
		}
	}
	if (s->ngaps == GAP_MAX_PENDING)
		return -1;
	if (s->ngaps == s->gaps_cap) {
		unsigned cap = s->gaps_cap ? s->gaps_cap * 2 : 4;
		struct gap *grown = realloc(s->gaps, cap * sizeof(*grown));

		if (!grown)
			return -1;
		s->gaps = grown;
		s->gaps_cap = cap;
	}
	g = &s->gaps[s->ngaps];
	g->topic = strdup(m->topic);
	if (!g->topic)
		return -1;
	snprintf(g->epoch, sizeof(g->epoch), "%s", epoch);
	g->from = g->to = m->seq;
	s->ngaps++;
	return 0;
}

/* The notice for s's oldest noted run, or NULL (no memory). */
static struct out_msg *notice(struct session *s)
{
	const struct gap *g = &s->gaps[0];
	const struct topic_hist *th = history__find(s->core->hist, g->topic);
	cJSON *obj = session__json_base("gap");
	struct out_msg *m;

	if (!obj || !cJSON_AddStringToObject(obj, "topic", g->topic) ||
		!cJSON_AddStringToObject(obj, "epoch", g->epoch) ||
		!cJSON_AddNumberToObject(obj, "from", (double)g->from) ||
		!cJSON_AddNumberToObject(obj, "to", (double)g->to) ||
		!cJSON_AddNumberToObject(obj, "count", (double)(g->to - g->from + 1)) ||
		!cJSON_AddBoolToObject(
			obj, "fillable", history__can_resume(th, g->epoch, g->from - 1)) ||
		!cJSON_AddStringToObject(
			obj, "message", "messages were dropped: this client fell behind")) {
		cJSON_Delete(obj);
		return NULL;
	}
	m = msg__from_json(obj);
	cJSON_Delete(obj);
	return m;
}

/*
 * The notice to send before anything else, made on first look and kept until
 * gap__sent(); NULL when no gap is noted. A notice that cannot be made (no
 * memory) is forgotten rather than stalling the session.
 */
struct out_msg *gap__peek(struct session *s)
{
	while (s->ngaps && !s->gap_msg) {
		s->gap_msg = notice(s);
		if (!s->gap_msg)
			gap__sent(s);
	}
	return s->gap_msg;
}

/* The notice gap__peek() returned went out (or is given up). */
void gap__sent(struct session *s)
{
	if (!s->ngaps)
		return;
	msg__unref(s->gap_msg);
	s->gap_msg = NULL;
	free(s->gaps[0].topic);
	memmove(&s->gaps[0], &s->gaps[1], (s->ngaps - 1) * sizeof(s->gaps[0]));
	s->ngaps--;
	s->core->stats->gaps++;
}

void gap__cleanup(struct session *s)
{
	unsigned i;

	msg__unref(s->gap_msg);
	s->gap_msg = NULL;
	for (i = 0; i < s->ngaps; i++)
		free(s->gaps[i].topic);
	free(s->gaps);
	s->gaps = NULL;
	s->ngaps = s->gaps_cap = 0;
}
