/*
 * fuzz_acl.c - libFuzzer target for the ACL file parser (common/rtg_acl.c)
 * and, for every file it accepts, the decisions made with it.
 *
 * The input is the file text. A parsed ACL is asked about a fixed set of
 * identities (with and without roles, a subject that is not a valid topic
 * level), client ids, topics and filters, for read, write and subscribe, so
 * the fuzzer's rules and patterns (%u, %c, wildcards, $share) meet the
 * matching code. Besides crashes it checks that a refusal always comes with
 * a message and that "subscribe allowed" implies "read allowed" for a topic
 * the filter names exactly. One thread.
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

static void ask(const struct rtg_acl *acl)
{
	size_t i, j, k;
	enum rtg_err rd, sub;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		for (j = 0; j < sizeof(client_ids) / sizeof(client_ids[0]); j++) {
			for (k = 0; k < sizeof(topics) / sizeof(topics[0]); k++) {
				rd = rtg_acl_check(
					acl, &ids[i], client_ids[j], topics[k], RTG_ACCESS_READ);
				sub = rtg_acl_check(acl, &ids[i], client_ids[j], topics[k],
					RTG_ACCESS_SUBSCRIBE);
				rtg_acl_check(
					acl, &ids[i], client_ids[j], topics[k], RTG_ACCESS_WRITE);
				FUZZ_ASSERT(sub != RTG_OK || rd == RTG_OK);
			}
			for (k = 0; k < sizeof(filters) / sizeof(filters[0]); k++)
				rtg_acl_check(acl, &ids[i], client_ids[j], filters[k],
					RTG_ACCESS_SUBSCRIBE);
		}
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
