/*
 * calcs.c - the calculations a WebSocket session is waiting for, each with a
 * deadline: if no update arrives for calc_timeout seconds (a worker was
 * killed mid-calculation, or none is running), the client gets a
 * calculation_update with status "failed" instead of waiting forever.
 *
 * Every update relayed to the session re-arms its deadline; "completed" or
 * "failed" ends the wait. It does not retry the calculation (a request may
 * have side effects the adapter cannot judge) nor tell the broker: only the
 * session that asked learns of the timeout. lws thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"

struct calc_wait {
	struct session *s;
	struct lws_sorted_usec_list sul;
	struct lws_dll2 in_sess; /* session.calcs */
	char id[128];
};

static struct calc_wait *find(struct session *s, const char *id)
{
	struct lws_dll2 *d;

	for (d = lws_dll2_get_head(&s->calcs); d; d = d->next) {
		struct calc_wait *w = lws_container_of(d, struct calc_wait, in_sess);

		if (!strcmp(w->id, id))
			return w;
	}
	return NULL;
}

static void drop(struct calc_wait *w)
{
	lws_sul_cancel(&w->sul);
	lws_dll2_remove(&w->in_sess);
	free(w);
}

static void on_timeout(struct lws_sorted_usec_list *sul)
{
	struct calc_wait *w = lws_container_of(sul, struct calc_wait, sul);
	struct session *s = w->s;
	cJSON *obj = session__json_base("calculation_update");
	char text[160];

	snprintf(text, sizeof(text), "timed out: no update from a calculation worker for %d s",
		s->a->cfg.calc_timeout);
	s->a->stats.calc_timeouts++;
	if (obj &&
		(!cJSON_AddStringToObject(obj, "calculation_id", w->id) ||
			!cJSON_AddStringToObject(obj, "status", "failed") ||
			!cJSON_AddStringToObject(obj, "message", text) ||
			!cJSON_AddStringToObject(obj, "error", text))) {
		cJSON_Delete(obj);
		obj = NULL;
	}
	lwsl_notice("calculation %s of %s: %s\n", w->id, s->id ? s->id->sub : "?", text);
	drop(w);
	session__send_json(s, obj);
}

static void arm(struct calc_wait *w)
{
	struct adapter *a = w->s->a;

	if (a->ctx)
		lws_sul_schedule(a->ctx, 0, &w->sul, on_timeout,
			(lws_usec_t)a->cfg.calc_timeout * LWS_US_PER_SEC);
}

/*
 * Starts (or restarts, for a repeated id) the wait for calculation id.
 * Returns 0, or -1 on out of memory.
 */
int calc__watch(struct session *s, const char *id)
{
	struct calc_wait *w = find(s, id);

	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -1;
		w->s = s;
		snprintf(w->id, sizeof(w->id), "%s", id);
		lws_dll2_add_tail(&w->in_sess, &s->calcs);
	}
	arm(w);
	return 0;
}

/* An update m for calculation id was queued for s: a final one ends the wait. */
void calc__update(struct session *s, const char *id, const struct out_msg *m)
{
	struct calc_wait *w = find(s, id);

	if (!w)
		return;
	if (m->final)
		drop(w);
	else
		arm(w);
}

void calc__unwatch_all(struct session *s)
{
	struct lws_dll2 *d, *d1;

	for (d = lws_dll2_get_head(&s->calcs); d; d = d1) {
		d1 = d->next;
		drop(lws_container_of(d, struct calc_wait, in_sess));
	}
}
