/*
 * fuzz_ws.c - libFuzzer target for the WebSocket protocol: ws__dispatch()
 * (adapter/transport/ws.c) and every handler behind it (policy/subscribe.c: subscribe in
 * all its forms, unsubscribe, publish, calculate, auth, ping), on a real
 * struct adapter without sockets.
 *
 * Setup, once: the configuration through config__load(), keys and ACL from
 * tests/fixtures and acl/acl.conf through auth__init(), the history (with a
 * few messages, so "since" recovery has something to resume), the
 * subscription registry, and an lws context that does not listen (the
 * sessions' timers need one). The broker is down: subscriptions stay
 * pending and publishes are refused, as during a broker restart.
 *
 * Input: client messages, one per line. Each runs on a fresh unauthenticated
 * session of /ws, an anonymous one of /realtime/ws/fuzz (an envelope with
 * nesting and renames) and one authenticated as alice (role publisher) on
 * /ws/notifications (the nested envelope);
 * both are cleaned up after each input, and the adapter must be back where
 * it started (no session, no broker subscription), so memory does not grow.
 * Every reply queued must be one line of JSON. One thread.
 */
#include <time.h>

#include "adapter.h"
#include "rtg_log.h"
#include "fuzz_util.h"

#define MAX_LINES 64

static struct adapter a;
static struct rtg_identity *alice;

static int callback_none(
	struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	(void)wsi;
	(void)reason;
	(void)user;
	(void)in;
	(void)len;
	return 0;
}

static const struct lws_protocols protocols[] = {
	{"fuzz", callback_none, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static void load_config(void)
{
	char *argv[] = {"rtg-adapter", "--mqtt-token-file", "/dev/null", "--acl-file",
		SRC_PATH("acl/acl.conf"), "--jwt-secret-file",
		SRC_PATH("tests/fixtures/hs_secret.txt"), "--history-size", "8", "--log-level",
		"error", "--profiles-file", SRC_PATH("profiles/gateway.conf"), NULL};
	char err[512];
	bool help;

	if (config__load(&a.cfg, (int)(sizeof(argv) / sizeof(argv[0])) - 1, argv, &help, err,
		    sizeof(err))) {
		fprintf(stderr, "fuzz_ws: config: %s\n", err);
		abort();
	}
}

/* A token for alice, minted with the fixture secret and verified as a client's would be. */
static void make_identity(void)
{
	unsigned char *key = NULL;
	char claims[160], *token = NULL;
	size_t keylen = 0;

	snprintf(claims, sizeof(claims),
		"{\"sub\":\"alice\",\"exp\":%lld,\"roles\":[\"publisher\"]}",
		(long long)time(NULL) + 30 * 86400);
	if (rtg_jwt_read_key_file(a.cfg.jwt_secret_file, true, &key, &keylen) ||
		rtg_jwt_sign("HS256", key, keylen, claims, &token) ||
		auth__verify(&a, token, &alice))
		abort();
	free(key);
	free(token);
}

/* A few topics with history: retained values and recent messages. */
static void fill_history(void)
{
	static const char *const topics[] = {"market/AAPL", "market/GOOG", "market/status",
		"user/alice/notifications", "user/bob/balance", "rooms/lobby", "system/stats"};
	char payload[96];
	size_t i;
	int k;

	for (i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		for (k = 0; k < 3; k++) {
			snprintf(payload, sizeof(payload),
				"{\"type\":\"price_update\",\"price\":%d}", k);
			history__append(&a.hist, topics[i], payload, strlen(payload), k == 0, NULL);
		}
	}
}

static void quiet(enum rtg_log_level level, const char *line)
{
	(void)level;
	(void)line;
}

static void setup(void)
{
	struct lws_context_creation_info info;

	lws_set_log_level(0, NULL);
	rtg_log_set_sink(quiet);
	load_config();
	core__init(&a.core, &a.cfg, &a.stats, &a.hist, &bridge__broker, &a);
	if (history__init(
		    &a.hist, (unsigned)a.cfg.history_size, (unsigned)a.cfg.history_max_topics) ||
		auth__init(&a))
		abort();
	a.hist.topic_info = req__topic_info;
	a.hist.topic_info_arg = &a;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.user = &a;
	a.ctx = lws_create_context(&info);
	if (!a.ctx)
		abort();
	a.started = time(NULL);
	make_identity();
	fill_history();
}

/* Every queued reply is one line of JSON in the endpoint's envelope: an object with a "type". */
static void check_replies(struct session *s)
{
	const char *text;
	unsigned i;
	size_t len;
	cJSON *obj;

	for (i = 0; i < s->q_count; i++) {
		struct out_msg *m = s->q[(s->q_head + i) % s->q_cap];

		if (!m)
			continue; /* conflated away */
		text = msg__text_env(m, s->ep->env, &len);
		FUZZ_ASSERT(text != NULL);
		FUZZ_ASSERT(!memchr(text, '\n', len));
		obj = cJSON_ParseWithLength(text, len);
		FUZZ_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "type")));
		cJSON_Delete(obj);
	}
}

/* Who a session is: not yet authenticated, anonymous, or alice. */
enum who { NOBODY, ANONYMOUS, ALICE };

static void run_session(const char *text, size_t size, enum who who, const char *path)
{
	static struct session s;
	const char *p = text, *end = text + size, *nl;
	int lines = 0;

	session__init(&a.core, &s, NULL, NULL, &a); /* no transport: nothing is written */
	limits__session_init(&s);
	FUZZ_ASSERT(client__set_endpoint(&s, a.prof, path, true) == 0);
	s.on_snapshot = subscribe__snapshot;
	s.anonymous = who == ANONYMOUS;
	if (who == ALICE) {
		FUZZ_ASSERT(client__set_identity(&s, rtg_identity_dup(alice)) == 0);
		s.greeted = true;
	}
	while (p < end && lines++ < MAX_LINES) {
		nl = memchr(p, '\n', (size_t)(end - p));
		ws__dispatch(&s, p, (size_t)((nl ? nl : end) - p));
		p = nl ? nl + 1 : end;
	}
	check_replies(&s);
	client__end(&s);
	FUZZ_ASSERT(a.core.sessions.count == 0);
	FUZZ_ASSERT(subs__broker_count(&a.core) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!a.ctx)
		setup();
	if (size > (size_t)a.cfg.max_message_size)
		return 0; /* ws.c closes the connection before dispatching these */
	run_session((const char *)data, size, NOBODY, "/ws");
	run_session((const char *)data, size, ANONYMOUS, "/realtime/ws/fuzz");
	run_session((const char *)data, size, ALICE, "/ws/notifications");
	return 0;
}
