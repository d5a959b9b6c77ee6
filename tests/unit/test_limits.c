/*
 * test_limits.c - unit tests for the adapter's limits (policy/limits.c): the
 * inbound token bucket, the connection caps in total and per user, and the
 * Origin check.
 *
 * limits.c is policy, but it calls no libwebsockets function: it includes
 * adapter.h for struct adapter only. This binary is compiled with the lws
 * headers and linked without libwebsockets, over the core and the stub
 * transport of core_stubs.c (a refusal's error reply and a close go through
 * the core). The bucket refills with CLOCK_MONOTONIC, which cannot be faked:
 * a test moves back s->refilled (when the bucket was last topped up) instead
 * of waiting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "core_stubs.h"

/* ==== Helpers ================================================================================= */

/* An adapter with the limits' config, its core on the stub broker; freed by adapter_free(). */
static int adapter_new(void **state)
{
	struct adapter *a = calloc(1, sizeof(*a));

	if (!a)
		return -1;
	a->cfg.queue_max_messages = 1024;
	a->cfg.queue_max_bytes = 1 << 20;
	a->cfg.slow_consumer_timeout = 10;
	a->cfg.rate_limit = 10;
	a->cfg.rate_burst = 5;
	a->cfg.rate_limit_close = 3;
	a->cfg.max_connections_per_user = 2;
	a->cfg.max_connections = 3;
	if (history__init(&a->hist, 10, 10)) {
		free(a);
		return -1;
	}
	core__init(&a->core, &a->cfg, &a->stats, &a->hist, &stub_broker_ops, a);
	*state = a;
	return 0;
}

static int adapter_free(void **state)
{
	struct adapter *a = *state;

	limits__cleanup(a);
	subs__cleanup(&a->core);
	history__cleanup(&a->hist);
	free(a);
	return 0;
}

/* A session of @a for user @sub (NULL: none), on the stub transport. */
struct user_sess {
	struct stub_sess ss;
	struct rtg_identity id;
};

static void user_sess_init(struct adapter *a, struct user_sess *u, char *sub)
{
	memset(u, 0, sizeof(*u));
	session__init(&a->core, &u->ss.s, &stub_session_ops, NULL, a);
	u->id.sub = sub;
	u->ss.s.id = sub ? &u->id : NULL;
	limits__session_init(&u->ss.s);
}

static void user_sess_cleanup(struct adapter *a, struct user_sess *u)
{
	size_t i;

	limits__user_remove(a, &u->ss.s);
	session__cleanup(&u->ss.s);
	for (i = 0; i < u->ss.nout; i++)
		free(u->ss.out[i]);
	free(u->ss.out);
}

static enum origin_verdict origin(struct adapter *a, const char *o, const char *host, bool tls)
{
	struct origin_req r = {.origin = o, .host = host, .tls = tls};

	return limits__origin(a, &r);
}

/* ==== The token bucket ======================================================================== */

/* Takes @n tokens of s's bucket, each of which must pass. */
static void take_passing(struct session *s, int n)
{
	while (n-- > 0)
		assert_true(limits__take(s));
}

/* Takes @n more, each of which must be refused. */
static void take_refused(struct session *s, int n)
{
	while (n-- > 0)
		assert_false(limits__take(s));
}

static void test_bucket_passes_a_burst_then_refuses_with_an_error(void **state)
{
	struct adapter *a = *state;
	struct user_sess u;

	user_sess_init(a, &u, NULL);
	take_passing(&u.ss.s, a->cfg.rate_burst);
	assert_false(limits__take(&u.ss.s));
	assert_int_equal(a->stats.rate_limited, 1);
	assert_int_equal(stub_drain(&u.ss), 1);
	assert_true(stub_json_str_is(u.ss.out[0], "type", "error"));
	assert_int_equal(u.ss.closes, 0);
	user_sess_cleanup(a, &u);
}

static void test_bucket_refills_at_rate_limit_up_to_the_burst(void **state)
{
	struct adapter *a = *state;
	struct user_sess u;

	user_sess_init(a, &u, NULL);
	take_passing(&u.ss.s, a->cfg.rate_burst);
	/* 0.35 s later: 3 tokens at 10/s (and a fraction) */
	u.ss.s.refilled -= 350000;
	take_passing(&u.ss.s, 3);
	assert_false(limits__take(&u.ss.s));
	/* an hour later: no more than the burst */
	u.ss.s.refilled -= (int64_t)3600 * US_PER_SEC;
	take_passing(&u.ss.s, a->cfg.rate_burst);
	assert_false(limits__take(&u.ss.s));
	user_sess_cleanup(a, &u);
}

static void test_bucket_closes_after_rate_limit_close_refusals_in_a_row(void **state)
{
	struct adapter *a = *state;
	struct user_sess u;

	user_sess_init(a, &u, NULL);
	take_passing(&u.ss.s, a->cfg.rate_burst);
	take_refused(&u.ss.s, a->cfg.rate_limit_close);
	assert_int_equal(u.ss.closes, 1);
	assert_int_equal(u.ss.s.close_code, RTG_CLOSE_POLICY);
	assert_int_equal(a->stats.rate_closed, 1);
	assert_int_equal(a->stats.rate_limited, a->cfg.rate_limit_close);
	user_sess_cleanup(a, &u);
}

static void test_bucket_forgives_refusals_once_a_message_passes(void **state)
{
	struct adapter *a = *state;
	struct user_sess u;

	user_sess_init(a, &u, NULL);
	take_passing(&u.ss.s, a->cfg.rate_burst);
	take_refused(&u.ss.s, a->cfg.rate_limit_close - 1);
	u.ss.s.refilled -= 100000; /* one token */
	assert_true(limits__take(&u.ss.s));
	take_refused(&u.ss.s, a->cfg.rate_limit_close - 1);
	assert_int_equal(u.ss.closes, 0);
	user_sess_cleanup(a, &u);
}

/* ==== Connection caps ========================================================================= */

static void test_user_cap_refuses_one_connection_too_many(void **state)
{
	struct adapter *a = *state;
	struct user_sess u1, u2, u3, b1;

	user_sess_init(a, &u1, "alice");
	user_sess_init(a, &u2, "alice");
	user_sess_init(a, &u3, "alice");
	user_sess_init(a, &b1, "bob");
	assert_int_equal(limits__user_add(a, &u1.ss.s), 0);
	assert_int_equal(limits__user_add(a, &u1.ss.s), 0); /* counted once */
	assert_int_equal(limits__user_add(a, &u2.ss.s), 0);
	assert_int_equal(limits__user_add(a, &u3.ss.s), -1);
	assert_int_equal(a->stats.refused_user, 1);
	assert_int_equal(limits__user_add(a, &b1.ss.s), 0); /* another user's cap */
	limits__user_remove(a, &u1.ss.s);
	limits__user_remove(a, &u1.ss.s); /* removed once */
	assert_int_equal(limits__user_add(a, &u3.ss.s), 0);
	assert_int_equal(limits__user_add(a, &u1.ss.s), -1);
	assert_int_equal(a->stats.refused_user, 2);
	user_sess_cleanup(a, &u1);
	user_sess_cleanup(a, &u2);
	user_sess_cleanup(a, &u3);
	user_sess_cleanup(a, &b1);
	assert_null(a->users);
}

static void test_capacity_counts_websockets_and_sse_together(void **state)
{
	struct adapter *a = *state;

	a->stats.ws_connections = 1;
	a->stats.sse_connections = 1;
	assert_true(limits__capacity(a));
	a->stats.sse_connections = 2;
	assert_false(limits__capacity(a));
	assert_int_equal(a->stats.refused_capacity, 1);
}

/* ==== Origins ================================================================================= */

static void test_absent_origin_passes_as_none(void **state)
{
	struct adapter *a = *state;

	assert_int_equal(origin(a, NULL, "gw.example", false), ORIGIN_NONE);
	assert_int_equal(origin(a, "", "gw.example", false), ORIGIN_NONE);
	assert_int_equal(a->stats.refused_origin, 0);
}

static void test_same_origin_is_allowed_over_its_own_scheme_only(void **state)
{
	struct adapter *a = *state;

	assert_int_equal(
		origin(a, "http://gw.example:8000", "gw.example:8000", false), ORIGIN_ALLOWED);
	assert_int_equal(origin(a, "https://GW.example", "gw.example", true), ORIGIN_ALLOWED);
	assert_int_equal(origin(a, "https://gw.example", "gw.example", false), ORIGIN_REFUSED);
	assert_int_equal(origin(a, "http://gw.example", "gw.example", true), ORIGIN_REFUSED);
	assert_int_equal(origin(a, "http://gw.example", "", false), ORIGIN_REFUSED);
	assert_int_equal(origin(a, "http://evil.example", "gw.example", false), ORIGIN_REFUSED);
	assert_int_equal(a->stats.refused_origin, 4);
}

static void test_allowed_origins_list_is_matched_whole_entries(void **state)
{
	struct adapter *a = *state;
	char list[] = "https://app.example, https://admin.example ,http://localhost:3000";

	a->cfg.allowed_origins = list;
	assert_int_equal(origin(a, "https://app.example", "gw", true), ORIGIN_ALLOWED);
	assert_int_equal(origin(a, "https://ADMIN.example", "gw", true), ORIGIN_ALLOWED);
	assert_int_equal(origin(a, "http://localhost:3000", "gw", true), ORIGIN_ALLOWED);
	assert_int_equal(origin(a, "https://app.example.evil", "gw", true), ORIGIN_REFUSED);
	assert_int_equal(origin(a, "https://app", "gw", true), ORIGIN_REFUSED);
	assert_int_equal(origin(a, "http://localhost:300", "gw", true), ORIGIN_REFUSED);
	assert_int_equal(a->stats.refused_origin, 3);
	a->cfg.allowed_origins = NULL;
}

static void test_star_allows_any_origin(void **state)
{
	struct adapter *a = *state;
	char list[] = "https://app.example, *";

	a->cfg.allowed_origins = list;
	assert_int_equal(origin(a, "https://anything.example", "gw", true), ORIGIN_ALLOWED);
	assert_int_equal(a->stats.refused_origin, 0);
	a->cfg.allowed_origins = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, adapter_new, adapter_free)
		T(test_bucket_passes_a_burst_then_refuses_with_an_error),
		T(test_bucket_refills_at_rate_limit_up_to_the_burst),
		T(test_bucket_closes_after_rate_limit_close_refusals_in_a_row),
		T(test_bucket_forgives_refusals_once_a_message_passes),
		T(test_user_cap_refuses_one_connection_too_many),
		T(test_capacity_counts_websockets_and_sse_together),
		T(test_absent_origin_passes_as_none),
		T(test_same_origin_is_allowed_over_its_own_scheme_only),
		T(test_allowed_origins_list_is_matched_whole_entries),
		T(test_star_allows_any_origin),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
