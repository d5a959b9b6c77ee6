/*
 * core_stubs.c - the stub transport and broker of the core's unit tests
 * (core_stubs.h).
 *
 * flush() writes the way transport/ws.c's ws_flush() does, without a
 * socket: session__peek() / session__pop() until the queue is empty,
 * recording MSG_TEXT() of each message. subscribe() and unsubscribe() set
 * b->mid and b->sent as transport/bridge.c's bridge_subscribe() and
 * bridge_unsubscribe() do, and refuse while the broker is down as they do.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core_stubs.h"

/* ==== the transport ================================================================ */

static void record(struct stub_sess *ss, const struct out_msg *m)
{
	if (ss->nout == ss->out_cap) {
		size_t cap = ss->out_cap ? ss->out_cap * 2 : 8;
		char **grown = realloc(ss->out, cap * sizeof(*grown));

		assert_non_null(grown);
		ss->out = grown;
		ss->out_cap = cap;
	}
	ss->out[ss->nout] = strdup(MSG_TEXT(m));
	assert_non_null(ss->out[ss->nout]);
	ss->nout++;
}

size_t stub_drain(struct stub_sess *ss)
{
	struct out_msg *m;
	size_t n = 0;

	while ((m = session__peek(&ss->s))) {
		record(ss, m);
		session__pop(&ss->s);
		n++;
	}
	return n;
}

static int stub_flush(struct session *s)
{
	struct stub_sess *ss = (struct stub_sess *)s;

	ss->flushes++;
	if (ss->flush_fails)
		return -1;
	stub_drain(ss);
	return 0;
}

static bool stub_can_flush(struct session *s)
{
	return !((struct stub_sess *)s)->full;
}

static void stub_writeable(struct session *s)
{
	((struct stub_sess *)s)->writeables++;
}

static void stub_close(struct session *s, int grace_s)
{
	struct stub_sess *ss = (struct stub_sess *)s;

	ss->closes++;
	ss->close_grace = grace_s;
}

static void stub_fail(struct session *s)
{
	((struct stub_sess *)s)->fails++;
}

const struct session_ops stub_session_ops = {
	.name = "stub",
	.flush = stub_flush,
	.can_flush = stub_can_flush,
	.writeable = stub_writeable,
	.close = stub_close,
	.fail = stub_fail,
};

/* ==== the broker =================================================================== */

struct stub_broker stub_broker;

static bool stub_up(struct adapter *a)
{
	(void)a;
	return stub_broker.up;
}

/*
 * Records a SUBSCRIBE or UNSUBSCRIBE of b in @filters and @mids as the bridge
 * sends one (a new mid); refused, and counted, while the broker is down.
 */
static int stub_request(struct bsub *b, char **filters, int *mids, unsigned *n)
{
	if (!stub_broker.up) {
		stub_broker.calls_down++;
		return -1;
	}
	assert_true(*n < STUB_BROKER_MAX);
	b->mid = ++stub_broker.next_mid;
	filters[*n] = strdup(b->filter);
	assert_non_null(filters[*n]);
	mids[*n] = b->mid;
	(*n)++;
	return 0;
}

static int stub_subscribe(struct adapter *a, struct bsub *b)
{
	(void)a;
	if (stub_request(b, stub_broker.subscribed, stub_broker.sub_mid, &stub_broker.nsubscribed))
		return -1;
	b->sent = true;
	return 0;
}

static int stub_unsubscribe(struct adapter *a, struct bsub *b)
{
	(void)a;
	return stub_request(
		b, stub_broker.unsubscribed, stub_broker.unsub_mid, &stub_broker.nunsubscribed);
}

static int stub_publish_fn(
	struct adapter *a, const char *topic, const void *payload, size_t len, bool retain)
{
	(void)a;
	(void)topic;
	(void)payload;
	(void)len;
	(void)retain;
	if (!stub_broker.up)
		return -1;
	stub_broker.published++;
	return 0;
}

const struct core_broker stub_broker_ops = {
	.up = stub_up,
	.subscribe = stub_subscribe,
	.unsubscribe = stub_unsubscribe,
	.publish = stub_publish_fn,
};

static unsigned count_in(char *const *list, unsigned n, const char *filter)
{
	unsigned i, k = 0;

	for (i = 0; i < n; i++)
		k += !strcmp(list[i], filter);
	return k;
}

unsigned stub_broker_subscribes(const char *filter)
{
	return count_in(stub_broker.subscribed, stub_broker.nsubscribed, filter);
}

unsigned stub_broker_unsubscribes(const char *filter)
{
	return count_in(stub_broker.unsubscribed, stub_broker.nunsubscribed, filter);
}

static int last_mid(char *const *list, const int *mids, unsigned n, const char *filter)
{
	while (n-- > 0) {
		if (!strcmp(list[n], filter))
			return mids[n];
	}
	fail_msg("the broker got no request for %s", filter);
	return -1;
}

int stub_broker_sub_mid(const char *filter)
{
	return last_mid(
		stub_broker.subscribed, stub_broker.sub_mid, stub_broker.nsubscribed, filter);
}

int stub_broker_unsub_mid(const char *filter)
{
	return last_mid(
		stub_broker.unsubscribed, stub_broker.unsub_mid, stub_broker.nunsubscribed, filter);
}

void stub_broker_forget(void)
{
	unsigned i;

	for (i = 0; i < stub_broker.nsubscribed; i++)
		free(stub_broker.subscribed[i]);
	for (i = 0; i < stub_broker.nunsubscribed; i++)
		free(stub_broker.unsubscribed[i]);
	stub_broker.nsubscribed = stub_broker.nunsubscribed = 0;
	stub_broker.published = 0;
	stub_broker.calls_down = 0;
}

/* ==== the fixture ================================================================== */

int core_fixture_setup(void **state)
{
	struct core_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->cfg.queue_max_messages = 1024;
	f->cfg.queue_max_bytes = 4 * 1024 * 1024;
	f->cfg.slow_consumer_timeout = 10;
	if (history__init(&f->hist, 100, 1000)) {
		free(f);
		return -1;
	}
	stub_broker_forget();
	stub_broker.up = true;
	stub_broker.next_mid = 0;
	core__init(&f->core, &f->cfg, &f->stats, &f->hist, &stub_broker_ops, NULL);
	*state = f;
	return 0;
}

int core_fixture_teardown(void **state)
{
	struct core_fixture *f = *state;
	size_t i, k;

	if (!f)
		return 0;
	for (i = 0; i < f->nsess; i++) {
		struct stub_sess *ss = f->sess[i];

		session__cleanup(&ss->s);
		for (k = 0; k < ss->nout; k++)
			free(ss->out[k]);
		free(ss->out);
		free(ss);
	}
	free(f->sess);
	subs__cleanup(&f->core);
	history__cleanup(&f->hist);
	stub_broker_forget();
	free(f);
	*state = NULL;
	return 0;
}

struct stub_sess *stub_sess_new(struct core_fixture *f)
{
	struct stub_sess *ss = calloc(1, sizeof(*ss));

	assert_non_null(ss);
	if (f->nsess == f->sess_cap) {
		size_t cap = f->sess_cap ? f->sess_cap * 2 : 8;
		struct stub_sess **grown = realloc(f->sess, cap * sizeof(*grown));

		assert_non_null(grown);
		f->sess = grown;
		f->sess_cap = cap;
	}
	f->sess[f->nsess++] = ss;
	session__init(&f->core, &ss->s, &stub_session_ops, NULL, NULL);
	return ss;
}

struct out_msg *stub_publish(struct core_fixture *f, const char *topic, const char *payload)
{
	bool dup = true;
	struct out_msg *m = history__append(&f->hist, topic, payload, strlen(payload), false, &dup);

	assert_false(dup);
	assert_non_null(m);
	subs__fanout(&f->core, m);
	return m;
}

/* ==== reading what was written ======================================================= */

double stub_json_num(const char *text, const char *key)
{
	cJSON *obj = cJSON_Parse(text);
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	double v;

	if (!cJSON_IsNumber(item)) {
		cJSON_Delete(obj);
		fail_msg("no number \"%s\" in %s", key, text);
	}
	v = item->valuedouble;
	cJSON_Delete(obj);
	return v;
}

bool stub_json_str_is(const char *text, const char *key, const char *want)
{
	cJSON *obj = cJSON_Parse(text);
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	bool is = cJSON_IsString(item) && !strcmp(item->valuestring, want);

	cJSON_Delete(obj);
	return is;
}

void stub_assert_got(const struct stub_sess *ss, size_t i, const char *topic, unsigned seq)
{
	if (i >= ss->nout)
		fail_msg("only %zu messages written, wanted #%zu (%s %u)", ss->nout, i, topic, seq);
	if (!stub_json_str_is(ss->out[i], "topic", topic) ||
		stub_json_num(ss->out[i], "seq") != seq)
		fail_msg("message #%zu is %s, expected %s seq %u", i, ss->out[i], topic, seq);
}
