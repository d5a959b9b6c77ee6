/*
 * fuzz_profile.c - libFuzzer target for the endpoint profile parser
 * (adapter/profile*.c) and, for every file it accepts, its lookups.
 *
 * The input is the file text. A refused file must leave no set and report
 * its broken lines as "fuzz.conf:LINE: reason", in line order. An accepted
 * one is walked: each endpoint has an envelope (id 0 exactly when it has no
 * rules, rules sorted by type) and is found again by its own paths; every
 * channel template, expanded for a user with every parameter given, is a
 * valid MQTT filter, every publish template a topic name; every topic line
 * claims the topics of its filter; forms and counts have their channels.
 * Fixed request paths and topics meet whatever patterns the input holds.
 * One thread.
 */
#include "fuzz_util.h"
#include "profile.h"
#include "rtg_topic.h"

#define OUT_LEN 4096 /* a template is at most 1024 bytes; "v" and "alice" never triple it */

static const char *const paths[] = {"/", "//", "/ws", "/ws/", "/a/b", "/a/b/", "/sse/AAPL",
	"/api/broadcast/price", "/x/y/z/w/v/u/t/s/r", ""};
static const char *const topics[] = {
	"market/AAPL", "user/alice/notifications", "calc/alice~1/progress", "$SYS/x", "/", "a"};

static char err[1 << 20];

/* Lines of err: "fuzz.conf:N: ..." with N never going down, or "fuzz.conf: ...". */
static void check_errors(void)
{
	unsigned line, last = 0;
	const char *s;

	FUZZ_ASSERT(err[0] != '\0');
	for (s = err; s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL) {
		FUZZ_ASSERT(strncmp(s, "fuzz.conf:", 10) == 0);
		if (s[10] == ' ')
			continue;
		FUZZ_ASSERT(sscanf(s + 10, "%u:", &line) == 1);
		FUZZ_ASSERT(line >= last);
		last = line;
	}
}

/* Gives every {name} of @t the value "v"; the names are kept in @buf. */
static void fill_params(const char *t, struct prof_params *pp, char *buf, size_t len)
{
	const char *o, *c;
	size_t used = 0, n;

	memset(pp, 0, sizeof(*pp));
	for (o = strchr(t, '{'); o && (c = strchr(o, '}')); o = strchr(c, '{')) {
		n = (size_t)(c - o - 1);
		if (used + n + 1 > len || profile__param_add(pp, buf + used, "v") != 0)
			return;
		memcpy(buf + used, o + 1, n);
		buf[used + n] = '\0';
		used += n + 1;
	}
}

static void check_template(const char *t, bool publish)
{
	char out[OUT_LEN], names[1100];
	struct prof_params pp;
	enum prof_expand rc;
	bool own;

	fill_params(t, &pp, names, sizeof(names));
	if (pp.n == PROF_MAX_PARAMS)
		return; /* more names than params hold: MISSING is right */
	rc = profile__expand(t, publish ? NULL : "alice", &pp, out, sizeof(out), &own, NULL);
	FUZZ_ASSERT(rc == PROF_EXPAND_OK);
	FUZZ_ASSERT(publish ? rtg_topic_name_valid(out) : rtg_topic_filter_valid(out));
	FUZZ_ASSERT(own == (strstr(t, "%u~") != NULL));
}

static void check_envelope(const struct envelope *env)
{
	size_t i;

	FUZZ_ASSERT(env != NULL);
	FUZZ_ASSERT((env->id == 0) == (env->nrules == 0));
	for (i = 1; i < env->nrules; i++)
		FUZZ_ASSERT(strcmp(env->rules[i - 1].type, env->rules[i].type) < 0);
}

/* Each path, its {names} filled, is served by this endpoint or one listed before it. */
static void check_endpoint(const struct profiles *p, const struct prof_endpoint *e)
{
	const struct prof_endpoint *m;
	char path[OUT_LEN], *w;
	const char *s;
	size_t j;

	check_envelope(e->env);
	for (j = 0; j < e->npaths; j++) {
		for (s = e->paths[j], w = path; *s; s++) {
			*w++ = *s == '{' ? 'v' : *s;
			if (*s == '{')
				s = strchr(s, '}');
		}
		*w = '\0';
		m = profile__match(p, path, e->transport == PROF_WEBSOCKET, NULL);
		FUZZ_ASSERT(m != NULL && m <= e);
	}
	for (j = 0; j < e->ncounts; j++)
		FUZZ_ASSERT(e->counts[j].channel != NULL);
}

static void walk(const struct profiles *p)
{
	struct prof_params pp;
	char buf[64];
	size_t i, j;

	for (i = 0; i < p->nendpoints; i++)
		check_endpoint(p, &p->endpoints[i]);
	for (i = 0; i < p->nchannels; i++) {
		for (j = 0; j < p->channels[i].ntargets; j++)
			check_template(p->channels[i].targets[j], false);
		FUZZ_ASSERT(profile__channel(p, p->channels[i].name) == &p->channels[i]);
	}
	for (i = 0; i < p->nbroadcasts; i++) {
		for (j = 0; j < p->broadcasts[i].npublish; j++)
			check_template(p->broadcasts[i].publish[j], true);
	}
	for (i = 0; i < p->nforms; i++)
		FUZZ_ASSERT(p->forms[i].channel != NULL);
	for (i = 0; i < p->ntopics; i++)
		FUZZ_ASSERT(rtg_topic_filter_valid(p->topics[i].filter));
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		profile__match(p, paths[i], true, &pp);
		profile__match(p, paths[i], false, &pp);
	}
	for (i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		const struct prof_topic *t = profile__topic(p, topics[i]);

		if (t)
			profile__topic_param(t, topics[i], "ticker", buf, sizeof(buf));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profiles *p = (struct profiles *)1;

	err[0] = '\0';
	if (profile__parse(&p, "fuzz.conf", (const char *)data, size, err, sizeof(err)) != 0) {
		FUZZ_ASSERT(p == NULL);
		check_errors();
		return 0;
	}
	FUZZ_ASSERT(p != NULL && p->refs == 1 && err[0] == '\0');
	walk(p);
	FUZZ_ASSERT(profile__ref(p) == p && p->refs == 2);
	profile__unref(p);
	profile__unref(p);
	return 0;
}
