/*
 * fuzz_acl.c - libFuzzer target for the ACL file parser (common/rtg_acl.c)
 * and, for every file it accepts, the decisions made with it.
 *
 * The input is the file text. A parsed ACL is asked about a fixed set of
 * identities (with and without roles, a subject that is not a valid topic
 * level, and none: an anonymous client), client ids, topics and filters, for
 * read, write and subscribe, so the fuzzer's rules and patterns (%u, %c,
 * wildcards, $share, anonymous sections) meet the matching code. Besides
 * crashes it checks that a refusal always comes with a message, that
 * "subscribe allowed" implies "read allowed" for a topic the filter names
 * exactly, and that an anonymous client never may write and gets the same
 * answers whatever its client id (no pattern applies to it). One thread.
 */
#include "fuzz_util.h"
#include "rtg_acl.h"

static char *roles_pub[] = {"publisher", "ops"};
static char *roles_calc[] = {"calc"};

static const struct rtg_identity ids[] = {
	{.sub = "alice"},
	{.sub = "bob", .roles = roles_pub, .nroles = 2},
	{.sub = "carol", .roles = roles_calc, .nroles = 1},
	{.sub = "a/+/#"},
};

static const char *const client_ids[] = {NULL, "c1", "bad/id"};

/* Topics names (no wildcards): exact subscribe filters too. */
static const char *const topics[] = {"market/AAPL", "user/alice/notifications", "user/bob/balance",
	"calc/alice~1/progress", "rooms/lobby", "$SYS/broker/uptime", "system/stats", "a", "/",
	"c1/x"};

static const char *const filters[] = {"#", "+/+", "market/#", "user/+/notifications",
	"$share/g/calc/+/request", "$SYS/#", "user/alice/#", "+", "rooms/lobby/#"};

/* Asks as @id (NULL: an anonymous client) connected as @cid about every topic and filter. */
static void ask_as(const struct rtg_acl *acl, const struct rtg_identity *id, const char *cid)
{
	enum rtg_err rd, sub, wr;
	size_t k;

	for (k = 0; k < sizeof(topics) / sizeof(topics[0]); k++) {
		rd = rtg_acl_check(acl, id, cid, topics[k], RTG_ACCESS_READ);
		sub = rtg_acl_check(acl, id, cid, topics[k], RTG_ACCESS_SUBSCRIBE);
		wr = rtg_acl_check(acl, id, cid, topics[k], RTG_ACCESS_WRITE);
		FUZZ_ASSERT(sub != RTG_OK || rd == RTG_OK);
		if (id)
			continue;
		/* the parser refuses write rules in the anonymous section */
		FUZZ_ASSERT(wr == RTG_ERR_DENIED);
		FUZZ_ASSERT(rd == rtg_acl_check(acl, NULL, NULL, topics[k], RTG_ACCESS_READ));
		FUZZ_ASSERT(sub == rtg_acl_check(acl, NULL, NULL, topics[k], RTG_ACCESS_SUBSCRIBE));
	}
	for (k = 0; k < sizeof(filters) / sizeof(filters[0]); k++) {
		sub = rtg_acl_check(acl, id, cid, filters[k], RTG_ACCESS_SUBSCRIBE);
		if (!id)
			FUZZ_ASSERT(sub ==
				rtg_acl_check(acl, NULL, NULL, filters[k], RTG_ACCESS_SUBSCRIBE));
	}
}

static void ask(const struct rtg_acl *acl)
{
	size_t i, j;

	for (j = 0; j < sizeof(client_ids) / sizeof(client_ids[0]); j++) {
		for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
			ask_as(acl, &ids[i], client_ids[j]);
		ask_as(acl, NULL, client_ids[j]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtg_acl *acl = (struct rtg_acl *)1;
	char err[512];
	enum rtg_err rc;

	err[0] = '\0';
	rc = rtg_acl_parse(&acl, "fuzz.acl", (const char *)data, size, err, sizeof(err));
	if (rc != RTG_OK) {
		FUZZ_ASSERT(acl == NULL);
		FUZZ_ASSERT(err[0] != '\0');
		return 0;
	}
	FUZZ_ASSERT(acl != NULL);
	ask(acl);
	rtg_acl_free(acl);
	return 0;
}
