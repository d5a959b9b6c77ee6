/*
 * test_jwt.c - unit tests for rtg_jwt_verify() in common/rtg_jwt.c (cmocka).
 *
 * One named test per way a token can be wrong, as libjwt's own tests do; most are rows of one
 * table run through one helper (mosquitto's match_helper). Tokens are minted with
 * rtg_jwt_sign(), or by hand when they must be malformed, and verified at the fixed time NOW.
 * Verifier configuration, key files, signing and identities are in test_jwt_config.c; the
 * shared fixtures are in jwt_helpers.h. Single-threaded.
 */
#include "jwt_helpers.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* ==================== hand-made tokens ==================== */

/* base64url by way of OpenSSL's base64, independent of the decoder under test. */
static char *b64url(const unsigned char *data, size_t len)
{
	char *out = malloc(len / 3 * 4 + 5), *p;

	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	for (p = out; *p && *p != '='; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	*p = '\0';
	return out;
}

/* SIG_HS256_PEM signs with the RSA public key PEM as the HMAC secret (HS/RS confusion). */
enum sig_kind { SIG_HS256, SIG_EMPTY, SIG_JUNK, SIG_HS256_PEM };

/* Builds "header.payload.sig" by hand from raw text. SIG_HS256 signs it correctly with the
 * fixture secret, so that only the hand-made part can be what is refused. */
static char *hand_token(const char *header, const char *payload, enum sig_kind sig)
{
	char *h = b64url((const unsigned char *)header, strlen(header));
	char *p = b64url((const unsigned char *)payload, strlen(payload));
	char *token = malloc(strlen(h) + strlen(p) + 100), *s;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	enum key_id k;

	assert_non_null(token);
	sprintf(token, "%s.%s.", h, p);
	if (sig == SIG_JUNK)
		strcat(token, "c2lnbmF0dXJl");
	if (sig == SIG_HS256 || sig == SIG_HS256_PEM) {
		k = sig == SIG_HS256 ? K_SECRET : K_RSA_PUB;
		assert_non_null(HMAC(EVP_sha256(), keys[k].buf, (int)keys[k].len,
			(const unsigned char *)token, strlen(token) - 1, mac, &maclen));
		s = b64url(mac, maclen);
		strcat(token, s);
		free(s);
	}
	free(h);
	free(p);
	return token;
}

/* ==================== token cases: one row, one test ==================== */

enum shape { AS_IS, TRAILING_DOT, TWO_SEGMENTS, FOUR_SEGMENTS };

struct token_case {
	const char *name;
	/* The token: raw text; else hand-made from header + claims + sig; else rtg_jwt_sign()
	 * of claims with alg ("HS256" if NULL) and key (the fixture secret by default). */
	const char *raw;
	const char *header;
	enum sig_kind sig;
	const char *alg;
	enum key_id key;
	const char *claims;
	enum shape shape;
	/* The verifier: allow-list (NULL = derived: HS256 + RS256), public key file, iss, aud. */
	const char *algs, *pub, *iss, *aud;
	long leeway;
	enum rtg_err want;
};

static struct token_case token_cases[] = {
	/* valid tokens */
	{"test_valid_hs384_token_verifies", .alg = "HS384", .algs = "HS384", .claims = CLAIMS("")},
	{"test_valid_hs512_token_verifies", .alg = "HS512", .algs = "HS512", .claims = CLAIMS("")},
	{"test_valid_rs256_token_verifies", .alg = "RS256", .key = K_RSA, .algs = "RS256",
		.claims = CLAIMS("")},
	{"test_valid_es256_token_verifies", .alg = "ES256", .key = K_EC, .algs = "ES256",
		.pub = "ec_public.pem", .claims = CLAIMS(",\"roles\":[\"gateway\"]")},
	{"test_hand_made_hs256_token_verifies", .header = "{\"alg\":\"HS256\"}",
		.claims = CLAIMS("")},
	{"test_typ_jwt_in_lower_case_passes", .header = "{\"alg\":\"HS256\",\"typ\":\"jwt\"}",
		.claims = CLAIMS("")},
	{"test_fractional_exp_is_a_valid_numeric_date",
		.claims = "{\"sub\":\"alice\",\"exp\":1700000000.5}"},
	{"test_empty_roles_array_passes", .claims = CLAIMS(",\"roles\":[]")},
	{"test_derived_allow_list_accepts_rs256", .alg = "RS256", .key = K_RSA,
		.claims = CLAIMS("")},
	/* signatures and algorithms */
	{"test_hs256_signed_with_another_secret_is_refused", .key = K_OTHER_SECRET,
		.claims = CLAIMS(""), .want = RTG_ERR_BADSIG},
	{"test_rs256_signed_with_another_rsa_key_is_refused", .alg = "RS256", .key = K_RSA_OTHER,
		.claims = CLAIMS(""), .want = RTG_ERR_BADSIG},
	{"test_alg_outside_the_allow_list_is_refused", .alg = "HS384", .algs = "HS256,RS256",
		.claims = CLAIMS(""), .want = RTG_ERR_ALG},
	{"test_derived_allow_list_refuses_rs384", .alg = "RS384", .key = K_RSA,
		.claims = CLAIMS(""), .want = RTG_ERR_ALG},
	{"test_es256_token_is_refused_by_an_hs256_rs256_verifier", .alg = "ES256", .key = K_EC,
		.claims = CLAIMS(""), .want = RTG_ERR_ALG},
	{"test_alg_none_with_empty_signature_is_refused",
		.header = "{\"alg\":\"none\",\"typ\":\"JWT\"}", .sig = SIG_EMPTY,
		.claims = CLAIMS(""), .want = RTG_ERR_MALFORMED},
	{"test_alg_none_with_a_signature_is_refused",
		.header = "{\"alg\":\"none\",\"typ\":\"JWT\"}", .sig = SIG_JUNK,
		.claims = CLAIMS(""), .want = RTG_ERR_ALG},
	{"test_alg_none_in_capitals_is_refused", .header = "{\"alg\":\"NONE\"}", .sig = SIG_JUNK,
		.claims = CLAIMS(""), .want = RTG_ERR_ALG},
	{"test_alg_in_lower_case_is_refused", .header = "{\"alg\":\"hs256\"}", .claims = CLAIMS(""),
		.want = RTG_ERR_ALG},
	{"test_hs256_signed_with_rsa_public_key_is_refused_under_rs256", .key = K_RSA_PUB,
		.algs = "RS256", .claims = CLAIMS(""), .want = RTG_ERR_ALG},
	{"test_hs256_signed_with_rsa_public_key_is_refused_under_hs256_rs256", .key = K_RSA_PUB,
		.algs = "HS256,RS256", .claims = CLAIMS(""), .want = RTG_ERR_BADSIG},
	{"test_duplicate_alg_in_header_is_malformed",
		.header = "{\"alg\":\"RS256\",\"alg\":\"HS256\"}", .claims = CLAIMS(""),
		.want = RTG_ERR_MALFORMED},
	/* cJSON reads the first "alg", libjwt's jansson the last: refused before they disagree. */
	{"test_duplicate_alg_hiding_hs256_signed_with_rsa_public_key_is_malformed",
		.header = "{\"alg\":\"RS256\",\"alg\":\"HS256\"}", .sig = SIG_HS256_PEM,
		.claims = CLAIMS(""), .want = RTG_ERR_MALFORMED},
	{"test_alg_not_a_string_is_malformed", .header = "{\"alg\":256}", .claims = CLAIMS(""),
		.want = RTG_ERR_MALFORMED},
	{"test_crit_header_is_malformed", .header = "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
		.claims = CLAIMS(""), .want = RTG_ERR_MALFORMED},
	/* time claims */
	{"test_expired_token_is_refused", .claims = "{\"sub\":\"alice\",\"exp\":1699996400}",
		.want = RTG_ERR_EXPIRED},
	{"test_token_is_expired_at_exactly_exp", .claims = "{\"sub\":\"alice\",\"exp\":1700000000}",
		.want = RTG_ERR_EXPIRED},
	{"test_expired_token_within_leeway_passes",
		.claims = "{\"sub\":\"alice\",\"exp\":1699999990}", .leeway = 30},
	{"test_nbf_in_the_future_is_refused", .claims = CLAIMS(",\"nbf\":1700000100"), .leeway = 30,
		.want = RTG_ERR_NOT_YET_VALID},
	{"test_nbf_within_leeway_passes", .claims = CLAIMS(",\"nbf\":1700000020"), .leeway = 30},
	{"test_iat_in_the_future_is_refused", .claims = CLAIMS(",\"iat\":1700000100"), .leeway = 30,
		.want = RTG_ERR_NOT_YET_VALID},
	{"test_missing_exp_is_refused", .claims = "{\"sub\":\"alice\"}", .want = RTG_ERR_CLAIM},
	{"test_exp_as_a_string_is_refused", .claims = "{\"sub\":\"alice\",\"exp\":\"" LATER "\"}",
		.want = RTG_ERR_CLAIM},
	{"test_exp_beyond_year_9999_is_refused", .claims = "{\"sub\":\"alice\",\"exp\":1e300}",
		.want = RTG_ERR_CLAIM},
	{"test_nbf_as_a_string_is_refused", .claims = CLAIMS(",\"nbf\":\"soon\""),
		.want = RTG_ERR_CLAIM},
	/* issuer and audience */
	{"test_wrong_issuer_is_refused", .iss = "rtg", .claims = CLAIMS(",\"iss\":\"evil\""),
		.want = RTG_ERR_ISSUER},
	{"test_missing_issuer_is_refused_when_configured", .iss = "rtg", .claims = CLAIMS(""),
		.want = RTG_ERR_ISSUER},
	{"test_correct_issuer_passes", .iss = "rtg", .claims = CLAIMS(",\"iss\":\"rtg\"")},
	{"test_wrong_audience_is_refused", .aud = "gateway",
		.claims = CLAIMS(",\"aud\":\"billing\""), .want = RTG_ERR_AUDIENCE},
	{"test_missing_audience_is_refused_when_configured", .aud = "gateway", .claims = CLAIMS(""),
		.want = RTG_ERR_AUDIENCE},
	{"test_audience_array_containing_ours_passes", .aud = "gateway",
		.claims = CLAIMS(",\"aud\":[\"billing\",\"gateway\"]")},
	/* sub and roles */
	{"test_missing_sub_is_refused", .claims = "{\"exp\":" LATER "}", .want = RTG_ERR_CLAIM},
	{"test_empty_sub_is_refused", .claims = "{\"sub\":\"\",\"exp\":" LATER "}",
		.want = RTG_ERR_CLAIM},
	{"test_sub_not_a_string_is_refused", .claims = "{\"sub\":42,\"exp\":" LATER "}",
		.want = RTG_ERR_CLAIM},
	{"test_roles_not_an_array_is_refused", .claims = CLAIMS(",\"roles\":\"ops\""),
		.want = RTG_ERR_CLAIM},
	{"test_roles_with_a_non_string_is_refused", .claims = CLAIMS(",\"roles\":[\"ops\",7]"),
		.want = RTG_ERR_CLAIM},
	/* malformed tokens */
	{"test_trailing_dot_is_malformed", .claims = CLAIMS(""), .shape = TRAILING_DOT,
		.want = RTG_ERR_MALFORMED},
	{"test_two_segments_are_malformed", .claims = CLAIMS(""), .shape = TWO_SEGMENTS,
		.want = RTG_ERR_MALFORMED},
	{"test_four_segments_are_malformed", .claims = CLAIMS(""), .shape = FOUR_SEGMENTS,
		.want = RTG_ERR_MALFORMED},
	/* {"alg":"HS256"} is 20 base64url characters; '=' padding is not base64url. */
	{"test_padding_in_a_segment_is_malformed",
		.raw = "eyJhbGciOiJIUzI1NiJ9==.eyJzdWIiOiJhIn0.c2ln", .want = RTG_ERR_MALFORMED},
	{"test_garbage_is_malformed", .raw = "not a token at all", .want = RTG_ERR_MALFORMED},
	{"test_empty_string_is_malformed", .raw = "", .want = RTG_ERR_MALFORMED},
	{"test_header_not_json_is_malformed", .header = "alg=HS256", .claims = CLAIMS(""),
		.want = RTG_ERR_MALFORMED},
	{"test_header_json_array_is_malformed", .header = "[\"HS256\"]", .claims = CLAIMS(""),
		.want = RTG_ERR_MALFORMED},
	{"test_payload_not_json_is_malformed", .header = "{\"alg\":\"HS256\"}",
		.claims = "sub=alice", .want = RTG_ERR_MALFORMED},
	{"test_typ_other_than_jwt_is_malformed", .header = "{\"alg\":\"HS256\",\"typ\":\"JWE\"}",
		.claims = CLAIMS(""), .want = RTG_ERR_MALFORMED},
};

static char *make_token(const struct token_case *c)
{
	char *token, *longer;

	if (c->raw)
		token = strdup(c->raw);
	else if (c->header)
		token = hand_token(c->header, c->claims, c->sig);
	else
		token = sign(c->alg ? c->alg : "HS256", c->key, c->claims);
	assert_non_null(token);
	longer = realloc(token, strlen(token) + 8); /* room for a shape's extra characters */
	if (!longer)
		free(token);
	assert_non_null(longer);
	token = longer;
	if (c->shape == TRAILING_DOT)
		strcat(token, ".");
	else if (c->shape == TWO_SEGMENTS)
		*strrchr(token, '.') = '\0';
	else if (c->shape == FOUR_SEGMENTS)
		strcat(token, ".c2ln");
	return token;
}

static void run_token_case(void **state)
{
	const struct token_case *c = *state;

	expect_rc(
		verifier_full(c->algs, c->pub, c->iss, c->aud, c->leeway), make_token(c), c->want);
}
/* ==================== tests that need more than a row ==================== */

static void test_valid_hs256_token_yields_sub_roles_and_exp(void **state)
{
	struct rtg_jwt_verifier *v = verifier("HS256");
	char *token =
		sign("HS256", K_SECRET, CLAIMS(",\"iat\":1699999990,\"roles\":[\"ops\",\"calc\"]"));
	struct rtg_identity *id = NULL;

	UNUSED(state);
	assert_int_equal(rtg_jwt_verify(v, token, NOW, &id), RTG_OK);
	assert_string_equal(id->sub, "alice");
	assert_int_equal(id->exp, 1700003600);
	assert_int_equal(id->iat, 1699999990);
	assert_int_equal(id->nroles, 2);
	assert_string_equal(id->roles[0], "ops");
	assert_string_equal(id->roles[1], "calc");
	rtg_identity_free(id);
	rtg_jwt_verifier_free(v);
	free(token);
}

static void test_token_without_roles_has_no_roles_and_no_iat(void **state)
{
	struct rtg_jwt_verifier *v = verifier(NULL);
	char *token = sign("HS256", K_SECRET, CLAIMS(""));
	struct rtg_identity *id = NULL;

	UNUSED(state);
	assert_int_equal(rtg_jwt_verify(v, token, NOW, &id), RTG_OK);
	assert_int_equal(id->nroles, 0);
	assert_null(id->roles);
	assert_int_equal(id->iat, 0);
	rtg_identity_free(id);
	rtg_jwt_verifier_free(v);
	free(token);
}

static void test_token_over_8_kib_is_refused(void **state)
{
	char claims[9000];

	UNUSED(state);
	snprintf(claims, sizeof(claims), CLAIMS(",\"pad\":\"%07000d\""), 0);
	expect_rc(verifier(NULL), sign("HS256", K_SECRET, claims), RTG_ERR_TOO_LONG);
}

static void test_verify_with_null_arguments_is_invalid(void **state)
{
	struct rtg_jwt_verifier *v = verifier(NULL);
	struct rtg_identity *id = NULL;

	UNUSED(state);
	assert_int_equal(rtg_jwt_verify(v, NULL, NOW, &id), RTG_ERR_INVAL);
	assert_int_equal(rtg_jwt_verify(NULL, "a.b.c", NOW, &id), RTG_ERR_INVAL);
	assert_int_equal(rtg_jwt_verify(v, "a.b.c", NOW, NULL), RTG_ERR_INVAL);
	rtg_jwt_verifier_free(v);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_valid_hs256_token_yields_sub_roles_and_exp),
		cmocka_unit_test(test_token_without_roles_has_no_roles_and_no_iat),
		cmocka_unit_test(test_token_over_8_kib_is_refused),
		cmocka_unit_test(test_verify_with_null_arguments_is_invalid),
	};
	struct CMUnitTest *tests;
	size_t i, n = 0;
	int failed;

	tests = calloc(RTG_ARRAY_SIZE(fixed) + RTG_ARRAY_SIZE(token_cases), sizeof(*tests));
	if (!tests)
		return 1;
	for (i = 0; i < RTG_ARRAY_SIZE(token_cases); i++)
		tests[n++] = (struct CMUnitTest){
			token_cases[i].name, run_token_case, NULL, NULL, &token_cases[i]};
	for (i = 0; i < RTG_ARRAY_SIZE(fixed); i++)
		tests[n++] = fixed[i];
	/* The group runner behind cmocka_run_group_tests(), which needs an array of fixed size. */
	failed = _cmocka_run_group_tests("test_jwt", tests, n, group_setup, group_teardown);
	free(tests);
	return failed;
}
