/*
 * request.c - what a request asks for, the same for WebSocket, SSE and HTTP:
 * who is asking (a token, or nobody where the endpoint allows anonymous
 * clients), what a subscribe message or an endpoint's subscribe line means
 * (the channels, forms and templates of the endpoint profiles, profile.c),
 * and the subscription itself, checked against the ACL and the limits.
 *
 * It makes no reply: subscribe.c answers a WebSocket client (confirmation,
 * history), sse.c turns a refusal into an HTTP status. It does not parse
 * frames or requests (ws.c, http.c, reqparse.c).
 * One thread only: the event loop's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "rtg_json.h"
#include "rtg_topic.h"

/* ==== who is asking ======================================================================= */

enum req_auth req__identify(struct adapter *a, const char *token, bool optional,
	struct rtg_identity **id, char *err, size_t errlen)
{
	enum rtg_err rc;

	*id = NULL;
	if (!token || !*token) {
		if (optional)
			return REQ_AUTH_ANONYMOUS;
		snprintf(err, errlen,
			"invalid token: none given (use an Authorization: Bearer header, the "
			"rtg_token cookie or ?token=)");
		return REQ_AUTH_MISSING;
	}
	rc = auth__verify(a, token, id);
	if (rc == RTG_OK)
		return REQ_AUTH_OK;
	snprintf(err, errlen, "invalid token: %s", rtg_strerror(rc));
	return REQ_AUTH_BAD;
}

/*
 * What a topic carries, from the profiles' "topic" lines (history.h
 * topic_info): the type of a payload that names none, and whether it holds a
 * value. @arg is the adapter.
 */
void req__topic_info(void *arg, const char *topic, const char **type, bool *value)
{
	const struct adapter *a = arg;
	const struct prof_topic *t = a->prof ? profile__topic(a->prof, topic) : NULL;

	*type = t ? t->type : NULL;
	*value = t && t->value;
}

/* ==== templates into targets =================================================================== */

/*
 * The parameters a template of this request may use, in order of precedence:
 * @first (a form's value) if given, the endpoint's path parameters, then the
 * string members of the client's message.
 */
static void gather_params(const struct session *s, const cJSON *msg, const char *first_name,
	const char *first_value, struct prof_params *p)
{
	const cJSON *item;
	int i;

	memset(p, 0, sizeof(*p));
	if (first_name)
		profile__param_add(p, first_name, first_value);
	for (i = 0; s->params && i < s->params->n; i++)
		profile__param_add(p, s->params->name[i], s->params->value[i]);
	cJSON_ArrayForEach(item, msg) {
		if (cJSON_IsString(item) && item->string && strcmp(item->string, "type") &&
			profile__param_add(p, item->string, item->valuestring))
			break;
	}
}

/*
 * The index of the level of filter that holds the user's own namespace
 * ("<sub>~..."), for a wildcard there: only topics whose level starts with
 * "<sub>~" belong to the user. -1 if that level is not a wildcard.
 */
static int own_level(const char *tmpl)
{
	const char *p = strstr(tmpl, "%u~"), *c;
	int level = 0;

	/* only a wildcard there needs the check: "%u~{id}" expands to one topic */
	if (!p || p[3] != '+' || (p[4] != '\0' && p[4] != '/'))
		return -1;
	for (c = tmpl; c < p; c++)
		level += *c == '/';
	return level;
}

/*
 * A {calculation_id} level follows a calculation: its value must be an id
 * one could have started (calcs.c's rule), not just any topic level.
 */
static bool calc_id_refused(const char *tmpl, const struct prof_params *p)
{
	const char *v =
		strstr(tmpl, "{calculation_id}") ? profile__param(p, "calculation_id") : NULL;

	return v && !calc__id_ok(v);
}

static int expand_one(const struct session *s, const char *tmpl, const char *label,
	const struct prof_params *p, struct req_target *t, char *err, size_t errlen)
{
	const char *sub = s->id ? s->id->sub : NULL, *bad = NULL;
	enum prof_expand rc;

	memset(t, 0, sizeof(*t));
	if (calc_id_refused(tmpl, p)) {
		snprintf(err, errlen, "invalid \"calculation_id\": it must be " CALC_ID_RULE);
		return -1;
	}
	rc = profile__expand(tmpl, sub, p, t->filter, sizeof(t->filter), &t->own, &bad);
	switch (rc) {
	case PROF_EXPAND_OK:
		break;
	case PROF_EXPAND_ANONYMOUS:
		snprintf(err, errlen,
			"'%.64s' is for signed-in users: connect with a token (anonymous clients "
			"get public topics only)",
			label);
		return -1;
	case PROF_EXPAND_MISSING:
		snprintf(err, errlen, "'%.64s' needs a \"%.32s\"", label, bad ? bad : "?");
		return -1;
	case PROF_EXPAND_BAD_VALUE:
		snprintf(err, errlen, "invalid \"%.32s\": it cannot be used in a topic",
			bad ? bad : "?");
		return -1;
	default:
		snprintf(err, errlen, "'%.64s': topic too long", label);
		return -1;
	}
	snprintf(t->label, sizeof(t->label), "%s", label);
	t->owner_level = t->own ? own_level(tmpl) : -1;
	if (t->owner_level >= 0)
		snprintf(t->owner, sizeof(t->owner), "%s~", sub);
	return 0;
}

/*
 * Every template of channel ch; the targets are labelled with its name. An
 * anonymous client gets the channel's public part (seed 003's "alerts" are
 * the user's own and the market's): the templates with %u are left out, and
 * the channel is refused only when nothing is left.
 */
static int channel_targets(const struct session *s, const struct prof_channel *ch,
	const struct prof_params *p, struct req_target *t, int max, char *err, size_t errlen)
{
	size_t i;
	int n = 0;

	if (ch->ntargets > (size_t)max) {
		snprintf(err, errlen, "channel '%.64s' has too many topics", ch->name);
		return -1;
	}
	for (i = 0; i < ch->ntargets; i++) {
		if (!s->id && strstr(ch->targets[i], "%u") && ch->ntargets > 1)
			continue;
		if (expand_one(s, ch->targets[i], ch->name, p, &t[n], err, errlen))
			return -1;
		t[n++].channel = ch->name;
	}
	if (!n)
		snprintf(err, errlen,
			"'%.64s' is for signed-in users: connect with a token (anonymous clients "
			"get public topics only)",
			ch->name);
	return n ? n : -1;
}

/* The name of the first {parameter} of a channel's first template, into buf. */
static const char *first_param(const struct prof_channel *ch, char *buf, size_t len)
{
	const char *o = ch->ntargets ? strchr(ch->targets[0], '{') : NULL, *c;

	c = o ? strchr(o, '}') : NULL;
	if (!c || (size_t)(c - o) >= len)
		return NULL;
	memcpy(buf, o + 1, (size_t)(c - o - 1));
	buf[c - o - 1] = '\0';
	return buf;
}

/* "topic", then "channel" / "subscription": the forms every profile has. */
static int named_targets(struct session *s, const cJSON *msg, struct req_target *t, int max,
	char *err, size_t errlen)
{
	const struct prof_channel *ch;
	struct prof_params p;
	const char *v;

	if ((v = rtg_json_get_string(msg, "topic"))) {
		if (!rtg_topic_filter_valid(v) || strlen(v) >= sizeof(t->filter)) {
			snprintf(err, errlen, "invalid topic filter '%.128s'", v);
			return -1;
		}
		memset(t, 0, sizeof(*t));
		snprintf(t->filter, sizeof(t->filter), "%s", v);
		snprintf(t->label, sizeof(t->label), "%.*s", (int)sizeof(t->label) - 1, v);
		t->owner_level = -1;
		return 1;
	}
	if (!(v = rtg_json_get_string(msg, "channel")) &&
		!(v = rtg_json_get_string(msg, "subscription")))
		return 0;
	ch = profile__channel(s->prof, v);
	if (!ch) {
		snprintf(err, errlen, "unknown channel '%.64s'", v);
		return -1;
	}
	gather_params(s, msg, NULL, NULL, &p);
	return channel_targets(s, ch, &p, t, max, err, errlen);
}

/* The profile's forms: a field ("symbol": X) or a message type that means a channel. */
static int form_targets(struct session *s, const char *type, const cJSON *msg, struct req_target *t,
	int max, char *err, size_t errlen)
{
	const struct prof_channel *ch;
	const struct prof_form *f;
	struct prof_params p;
	char pname[64];
	const char *v = NULL;
	size_t i;

	for (i = 0; i < s->prof->nforms; i++) {
		f = &s->prof->forms[i];
		if (f->by_type ? strcmp(type, f->name) != 0
			       : !(v = rtg_json_get_string(msg, f->name)))
			continue;
		ch = f->channel;
		if (!f->by_type && f->or_channel && profile__channel(s->prof, v))
			ch = profile__channel(s->prof, v);
		if (f->by_type || ch != f->channel)
			gather_params(s, msg, NULL, NULL, &p);
		else
			gather_params(s, msg, first_param(ch, pname, sizeof(pname)), v, &p);
		return channel_targets(s, ch, &p, t, max, err, errlen);
	}
	return 0;
}

int req__resolve(struct session *s, const char *type, const cJSON *msg, struct req_target *t,
	int max, char *err, size_t errlen)
{
	char fields[160] = "";
	size_t i, n = 0;
	int rc;

	rc = named_targets(s, msg, t, max, err, errlen);
	if (!rc)
		rc = form_targets(s, type, msg, t, max, err, errlen);
	if (rc)
		return rc;
	for (i = 0; i < s->prof->nforms && n < sizeof(fields); i++) {
		if (!s->prof->forms[i].by_type)
			n += (size_t)snprintf(
				fields + n, sizeof(fields) - n, ", \"%s\"", s->prof->forms[i].name);
	}
	snprintf(err, errlen, "%.64s needs one of \"topic\", \"channel\", \"subscription\"%s", type,
		fields);
	return -1;
}

int req__resolve_line(struct session *s, const char *line, struct req_target *t, int max, char *err,
	size_t errlen)
{
	const struct prof_channel *ch;
	struct prof_params p;

	gather_params(s, NULL, NULL, NULL, &p);
	if (line[0] != '@')
		return expand_one(s, line, line, &p, t, err, errlen) ? -1 : 1;
	ch = profile__channel(s->prof, line + 1);
	if (!ch) { /* the parser checks this; a reload cannot change s->prof */
		snprintf(err, errlen, "unknown channel '%.64s'", line + 1);
		return -1;
	}
	return channel_targets(s, ch, &p, t, max, err, errlen);
}

/* ==== the subscription =================================================================== */

/* Copies the "types" array (subscribe_notifications) onto the subscription, replacing any. */
static int set_types(struct csub *cs, const cJSON *types)
{
	const cJSON *t;
	size_t n = 0;

	if (!types)
		return 0;
	cJSON_ArrayForEach(t, types) {
		if (!cJSON_IsString(t))
			return -1;
		n++;
	}
	subs__set_types(cs, NULL, 0);
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

struct csub *req__subscribe(struct session *s, const struct req_target *t, enum sub_policy policy,
	const cJSON *types, int *status, char *err, size_t errlen)
{
	struct adapter *a = s->a;
	bool created = false;
	struct csub *cs;
	char why[128];

	*status = HTTP_STATUS_FORBIDDEN;
	if (!t->own && !auth__allowed(a, s, t->filter, RTG_ACCESS_SUBSCRIBE, why, sizeof(why))) {
		snprintf(err, errlen, "cannot subscribe to '%.200s': %s", t->filter, why);
		return NULL;
	}
	cs = subs__find(s, t->filter, t->label);
	if (!cs && limits__subscriptions_full(a, s)) {
		*status = HTTP_STATUS_BAD_REQUEST;
		snprintf(err, errlen,
			"cannot subscribe to '%.200s': subscription limit reached (%d per "
			"connection)",
			t->filter, a->cfg.max_subscriptions);
		return NULL;
	}
	if (!cs) {
		cs = subs__add(&a->core, s, t->filter, t->label, policy);
		created = cs != NULL;
		if (cs && t->owner_level >= 0 && subs__set_owner(cs, t->owner, t->owner_level)) {
			subs__remove(&a->core, cs);
			cs = NULL;
		}
		if (cs) {
			cs->system = t->own;
			cs->channel = t->channel;
		}
	}
	if (cs && set_types(cs, types)) {
		if (created)
			subs__remove(&a->core, cs);
		cs = NULL;
	}
	if (!cs) {
		*status = HTTP_STATUS_INTERNAL_SERVER_ERROR;
		snprintf(err, errlen, "cannot subscribe to '%.200s': out of memory", t->filter);
	}
	return cs;
}
