/*
 * test_jwks.c - unit tests for the key set (common/rtg_jwks.c and the kid selection in
 * common/rtg_jwt.c): JWKS files that load, every kind of bad key with its reason, tokens
 * picking their key by kid, a kid's key that does not fit the token's alg, tokens without
 * kid, and rtg_jwt_key_present() / rtg_jwt_end_time() for reloads (cmocka).
 *
 * Good sets come from tests/fixtures/jwks.json (hs-a, hs-b, rsa-a, rsa-b with alg RS256,
 * ec-a). A bad key is one fixture key with one member changed, written to a temporary file;
 * each is its own named test, rows of one table. Single-threaded.
 */
#include "jwt_helpers.h"

#include <cjson/cJSON.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

/* ==================== helpers ==================== */

/* A verifier over tests/fixtures/jwks.json (and the secret file when with_secret). */
static struct rtg_jwt_verifier *jwks_verifier(const char *jwks, const char *algs, bool with_secret)
{
	struct rtg_jwt_config cfg = {.algorithms = algs, .leeway = 0};
	struct rtg_jwt_verifier *v = NULL;
	char path[4096], secret[4096], err[256] = "";

	snprintf(path, sizeof(path), "%s", jwks[0] == '/' ? jwks : fixture(jwks));
	snprintf(secret, sizeof(secret), "%s", fixture("hs_secret.txt"));
	cfg.jwks_file = path;
	cfg.secret_file = with_secret ? secret : NULL;
	if (rtg_jwt_verifier_new(&v, &cfg, err, sizeof(err)) != RTG_OK)
		fail_msg("verifier: %s", err);
	return v;
}

/* Signs CLAIMS("") with key k and kid (NULL: none). */
static char *sign_kid(const char *alg, enum key_id k, const char *kid)
{
	char *token = NULL;

	assert_int_equal(
		rtg_jwt_sign_kid(alg, kid, keys[k].buf, keys[k].len, CLAIMS(""), &token), RTG_OK);
	return token;
}

/* Verifies and returns the identity (the token is freed); fails unless RTG_OK. */
static struct rtg_identity *verify_ok(struct rtg_jwt_verifier *v, char *token)
{
	struct rtg_identity *id = NULL;
	enum rtg_err rc = rtg_jwt_verify(v, token, NOW, &id);

	free(token);
	if (rc != RTG_OK)
		fail_msg("verify: %s", rtg_strerror(rc));
	return id;
}

/* The fixture set, parsed. */
static cJSON *fixture_set(void)
{
	unsigned char *text = NULL;
	size_t len = 0;
	cJSON *set;

	assert_int_equal(rtg_jwt_read_key_file(fixture("jwks.json"), false, &text, &len), RTG_OK);
	set = cJSON_ParseWithLength((const char *)text, len);
	free(text);
	assert_non_null(set);
	return set;
}

/* A copy of the fixture key named kid. */
static cJSON *fixture_key(const char *kid)
{
	cJSON *set = fixture_set(), *jwk, *copy = NULL;

	cJSON_ArrayForEach(jwk, cJSON_GetObjectItemCaseSensitive(set, "keys")) {
		if (!strcmp(cJSON_GetObjectItemCaseSensitive(jwk, "kid")->valuestring, kid))
			copy = cJSON_Duplicate(jwk, 1);
	}
	cJSON_Delete(set);
	assert_non_null(copy);
	return copy;
}

/* Writes {"keys":[jwk...]} (the keys are taken) to a temporary file named in path. */
static void write_set(char *path, size_t pathlen, cJSON *jwk1, cJSON *jwk2)
{
	cJSON *set = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(set, "keys");
	char *text;

	cJSON_AddItemToArray(arr, jwk1);
	if (jwk2)
		cJSON_AddItemToArray(arr, jwk2);
	text = cJSON_PrintUnformatted(set);
	write_temp(text, strlen(text), path, pathlen);
	cJSON_free(text);
	cJSON_Delete(set);
}

/* Expects the JWKS text (or the set in path when text is NULL) to be refused with want and an
 * error mentioning needle. */
static void expect_refused(
	const char *text, const char *path_in, enum rtg_err want, const char *needle)
{
	struct rtg_jwt_config cfg = {.leeway = -1};
	struct rtg_jwt_verifier *v = NULL;
	char path[4096], err[512] = "";

	if (text)
		write_temp(text, strlen(text), path, sizeof(path));
	else
		snprintf(path, sizeof(path), "%s", path_in);
	cfg.jwks_file = path;
	assert_int_equal(rtg_jwt_verifier_new(&v, &cfg, err, sizeof(err)), want);
	assert_null(v);
	unlink(path);
	if (!strstr(err, needle))
		fail_msg("errbuf \"%s\" lacks \"%s\"", err, needle);
}

/* A verifier over the fixture keys kid1 and kid2 (or only kid1), in a temporary JWKS. */
static struct rtg_jwt_verifier *subset(const char *kid1, const char *kid2)
{
	struct rtg_jwt_verifier *v;
	char path[4096];

	write_set(path, sizeof(path), fixture_key(kid1), kid2 ? fixture_key(kid2) : NULL);
	v = jwks_verifier(path, NULL, false);
	unlink(path);
	return v;
}

/* ==================== bad keys: one member changed ==================== */

struct bad_key {
	const char *name;
	const char *kid; /* the fixture key to start from */
	const char *member; /* the member to change */
	const char *value; /* its new JSON value, or NULL to delete it */
	const char *needle;
};

static struct bad_key bad_keys[] = {
	{"test_jwks_key_without_kid_is_refused", "hs-a", "kid", NULL, "\"kid\""},
	{"test_jwks_key_with_an_empty_kid_is_refused", "hs-a", "kid", "\"\"", "\"kid\""},
	{"test_jwks_key_with_a_kid_over_64_bytes_is_refused", "hs-a", "kid",
		"\""
		"0123456789012345678901234567890123456789012345678901234567890123456789"
		"\"",
		"\"kid\""},
	{"test_jwks_key_without_kty_is_refused", "hs-a", "kty", NULL, "\"kty\" missing"},
	{"test_jwks_okp_key_is_refused_as_unsupported", "hs-a", "kty", "\"OKP\"", "not supported"},
	{"test_jwks_encryption_key_is_refused", "rsa-a", "use", "\"enc\"", "\"use\""},
	{"test_jwks_rsa_private_key_is_refused", "rsa-a", "d", "\"AQAB\"", "private"},
	{"test_jwks_ec_private_key_is_refused", "ec-a", "d", "\"AQAB\"", "private"},
	{"test_jwks_oct_key_that_is_not_base64url_is_refused", "hs-a", "k", "\"a+b/c===\"",
		"base64url"},
	{"test_jwks_oct_key_without_k_is_refused", "hs-a", "k", NULL, "\"k\""},
	{"test_jwks_rsa_key_without_n_is_refused", "rsa-a", "n", NULL, "\"n\""},
	{"test_jwks_rsa_key_with_an_even_exponent_is_refused", "rsa-a", "e", "\"Ag\"",
		"not an RSA public key"},
	{"test_jwks_ec_key_on_p192_is_refused", "ec-a", "crv", "\"P-192\"", "P-256"},
	{"test_jwks_ec_key_with_a_short_x_is_refused", "ec-a", "x", "\"AQAB\"", "32 bytes"},
	{"test_jwks_ec_point_off_the_curve_is_refused", "ec-a", "y",
		"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"", "not a point"},
	{"test_jwks_key_with_an_unknown_alg_is_refused", "hs-a", "alg", "\"XS256\"", "\"alg\""},
	{"test_jwks_oct_key_with_alg_rs256_is_refused", "hs-a", "alg", "\"RS256\"", "does not fit"},
	{"test_jwks_p256_key_with_alg_es384_is_refused", "ec-a", "alg", "\"ES384\"",
		"does not fit"},
};

static void run_bad_key(void **state)
{
	const struct bad_key *c = *state;
	cJSON *jwk = fixture_key(c->kid);
	char path[4096];

	cJSON_DeleteItemFromObjectCaseSensitive(jwk, c->member);
	if (c->value)
		cJSON_AddItemToObject(jwk, c->member, cJSON_Parse(c->value));
	write_set(path, sizeof(path), jwk, NULL);
	expect_refused(NULL, path, RTG_ERR_PARSE, c->needle);
}

/* ==================== bad sets ==================== */

/* A short secret is a well-formed JWK, but HS256 (derived from it) has no key to fit. */
static void test_jwks_oct_key_of_16_bytes_fits_no_algorithm(void **state)
{
	cJSON *jwk = fixture_key("hs-a");
	char path[4096];

	UNUSED(state);
	cJSON_ReplaceItemInObjectCaseSensitive(
		jwk, "k", cJSON_CreateString("MDEyMzQ1Njc4OWFiY2RlZg"));
	write_set(path, sizeof(path), jwk, NULL);
	expect_refused(NULL, path, RTG_ERR_INVAL, "at least 32 bytes, not 16");
}

/* A key the allow-list leaves without use is a mistake in the file. */
static void test_jwks_key_that_fits_no_allowed_alg_is_refused(void **state)
{
	struct rtg_jwt_config cfg = {.algorithms = "HS256,RS256", .leeway = -1};
	struct rtg_jwt_verifier *v = NULL;
	char path[4096], err[256] = "";

	UNUSED(state);
	snprintf(path, sizeof(path), "%s", fixture("jwks.json"));
	cfg.jwks_file = path;
	assert_int_equal(rtg_jwt_verifier_new(&v, &cfg, err, sizeof(err)), RTG_ERR_INVAL);
	assert_non_null(strstr(err, "key 'ec-a' fits none of the allowed algorithms"));
}

static void test_jwks_that_is_not_json_is_refused(void **state)
{
	UNUSED(state);
	expect_refused("{\"keys\": [", NULL, RTG_ERR_PARSE, "not a JWKS");
}

static void test_jwks_without_keys_is_refused(void **state)
{
	UNUSED(state);
	expect_refused("{\"keys\": []}", NULL, RTG_ERR_PARSE, "non-empty \"keys\"");
	expect_refused("[{\"kty\":\"oct\"}]", NULL, RTG_ERR_PARSE, "not a JWKS");
}

static void test_jwks_key_that_is_not_an_object_is_refused(void **state)
{
	UNUSED(state);
	expect_refused("{\"keys\": [\"hs-a\"]}", NULL, RTG_ERR_PARSE, "key 0");
}

static void test_jwks_with_a_duplicate_kid_is_refused(void **state)
{
	char path[4096];
	cJSON *b = fixture_key("hs-b");

	UNUSED(state);
	cJSON_ReplaceItemInObjectCaseSensitive(b, "kid", cJSON_CreateString("hs-a"));
	write_set(path, sizeof(path), fixture_key("hs-a"), b);
	expect_refused(NULL, path, RTG_ERR_PARSE, "second key with this kid");
}

static void test_jwks_with_more_than_16_keys_is_refused(void **state)
{
	cJSON *set = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(set, "keys"), *k;
	char path[4096], kid[16], *text;
	int i;

	UNUSED(state);
	for (i = 0; i < RTG_JWT_MAX_KEYS + 1; i++) {
		k = fixture_key("hs-a");
		snprintf(kid, sizeof(kid), "k%d", i);
		cJSON_ReplaceItemInObjectCaseSensitive(k, "kid", cJSON_CreateString(kid));
		cJSON_AddItemToArray(arr, k);
	}
	text = cJSON_PrintUnformatted(set);
	write_temp(text, strlen(text), path, sizeof(path));
	cJSON_free(text);
	cJSON_Delete(set);
	expect_refused(NULL, path, RTG_ERR_PARSE, "more than 16 keys");
}

/* An RSA key of 1024 bits, made here: the JWK is well formed, only too short. */
static void test_jwks_rsa_key_of_1024_bits_is_refused(void **state)
{
	EVP_PKEY *pkey = EVP_RSA_gen(1024);
	BIGNUM *n = NULL;
	unsigned char buf[128];
	cJSON *jwk = fixture_key("rsa-a");
	char path[4096], b64[256];
	size_t i, len;

	UNUSED(state);
	assert_non_null(pkey);
	assert_true(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n));
	assert_int_equal(BN_bn2binpad(n, buf, sizeof(buf)), sizeof(buf));
	len = (size_t)EVP_EncodeBlock((unsigned char *)b64, buf, sizeof(buf));
	for (i = 0; i < len; i++)
		b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	while (len && b64[len - 1] == '=')
		b64[--len] = '\0';
	cJSON_ReplaceItemInObjectCaseSensitive(jwk, "n", cJSON_CreateString(b64));
	write_set(path, sizeof(path), jwk, NULL);
	expect_refused(NULL, path, RTG_ERR_PARSE, "1024 bits");
	BN_free(n);
	EVP_PKEY_free(pkey);
}

/* ==================== good sets and kid selection ==================== */

static void test_jwks_fixture_set_loads_five_keys(void **state)
{
	struct rtg_jwt_verifier *v = jwks_verifier("jwks.json", NULL, false);

	UNUSED(state);
	assert_int_equal(rtg_jwt_verifier_key_count(v), 5);
	rtg_jwt_verifier_free(v);
}

static void test_jwks_each_key_verifies_its_tokens_by_kid(void **state)
{
	static const struct {
		const char *alg, *kid;
		enum key_id k;
	} rows[] = {
		{"HS256", "hs-a", K_SECRET},
		{"HS256", "hs-b", K_OTHER_SECRET},
		{"RS256", "rsa-a", K_RSA},
		{"RS256", "rsa-b", K_RSA_OTHER},
		{"ES256", "ec-a", K_EC},
	};
	struct rtg_jwt_verifier *v = jwks_verifier("jwks.json", NULL, false);
	struct rtg_identity *id;
	size_t i;

	UNUSED(state);
	for (i = 0; i < RTG_ARRAY_SIZE(rows); i++) {
		id = verify_ok(v, sign_kid(rows[i].alg, rows[i].k, rows[i].kid));
		assert_string_equal(id->kid, rows[i].kid);
		assert_string_equal(id->alg, rows[i].alg);
		assert_true(rtg_jwt_key_present(v, id));
		rtg_identity_free(id);
	}
	rtg_jwt_verifier_free(v);
}

static void test_jwks_token_with_a_kid_not_in_the_set_is_refused(void **state)
{
	UNUSED(state);
	expect_rc(jwks_verifier("jwks.json", NULL, false), sign_kid("HS256", K_SECRET, "hs-z"),
		RTG_ERR_KID);
}

static void test_jwks_token_naming_another_keys_kid_has_a_bad_signature(void **state)
{
	UNUSED(state);
	expect_rc(jwks_verifier("jwks.json", NULL, false), sign_kid("HS256", K_SECRET, "hs-b"),
		RTG_ERR_BADSIG);
	expect_rc(jwks_verifier("jwks.json", NULL, false), sign_kid("RS256", K_RSA, "rsa-b"),
		RTG_ERR_BADSIG);
}

static void test_jwks_oct_key_never_verifies_rs256(void **state)
{
	UNUSED(state);
	expect_rc(jwks_verifier("jwks.json", NULL, false), sign_kid("RS256", K_RSA, "hs-a"),
		RTG_ERR_KEY_ALG);
}

/* HS/RS confusion by kid: an HS256 token "signed" with the RSA key's PEM as HMAC secret. */
static void test_jwks_rsa_key_never_verifies_hs256(void **state)
{
	UNUSED(state);
	expect_rc(jwks_verifier("jwks.json", NULL, false), sign_kid("HS256", K_RSA_PUB, "rsa-a"),
		RTG_ERR_KEY_ALG);
}

static void test_jwks_key_with_alg_verifies_no_other_alg(void **state)
{
	UNUSED(state);
	/* rsa-b says "alg":"RS256"; rsa-a says nothing and so fits RS384 too. */
	expect_rc(jwks_verifier("jwks.json", "HS256,RS256,RS384,ES256", false),
		sign_kid("RS384", K_RSA_OTHER, "rsa-b"), RTG_ERR_KEY_ALG);
	expect_rc(jwks_verifier("jwks.json", "HS256,RS256,RS384,ES256", false),
		sign_kid("RS384", K_RSA, "rsa-a"), RTG_OK);
}

static void test_jwks_token_with_a_non_string_kid_is_malformed(void **state)
{
	struct rtg_jwt_verifier *v = jwks_verifier("jwks.json", NULL, false);
	struct rtg_identity *id = NULL;
	char *token;

	UNUSED(state);
	/* {"alg":"HS256","kid":7,"typ":"JWT"}, then {} and a signature of the right shape */
	token = strdup("eyJhbGciOiJIUzI1NiIsImtpZCI6NywidHlwIjoiSldUIn0.e30.AAAA");
	assert_int_equal(rtg_jwt_verify(v, token, NOW, &id), RTG_ERR_MALFORMED);
	assert_null(id);
	free(token);
	rtg_jwt_verifier_free(v);
}

static void test_jwks_token_without_kid_is_tried_against_each_key_of_its_alg(void **state)
{
	struct rtg_jwt_verifier *v = jwks_verifier("jwks.json", NULL, false);
	struct rtg_identity *id;

	UNUSED(state);
	id = verify_ok(v, sign_kid("HS256", K_OTHER_SECRET, NULL));
	assert_null(id->kid);
	assert_true(rtg_jwt_key_present(v, id));
	rtg_identity_free(id);
	id = verify_ok(v, sign_kid("RS256", K_RSA_OTHER, NULL));
	assert_true(rtg_jwt_key_present(v, id));
	rtg_identity_free(id);
	rtg_jwt_verifier_free(v);
	/* ...and is refused when no key verifies it */
	expect_rc(subset("hs-a", "rsa-a"), sign_kid("HS256", K_OTHER_SECRET, NULL), RTG_ERR_BADSIG);
}

static void test_single_key_options_ignore_a_kid(void **state)
{
	UNUSED(state);
	expect_rc(verifier("HS256"), sign_kid("HS256", K_SECRET, "anything"), RTG_OK);
}

static void test_jwks_and_secret_file_make_one_set(void **state)
{
	struct rtg_jwt_verifier *v = jwks_verifier("jwks.json", NULL, true);
	struct rtg_identity *id;

	UNUSED(state);
	assert_int_equal(rtg_jwt_verifier_key_count(v), 6);
	id = verify_ok(v, sign_kid("HS256", K_SECRET, NULL));
	rtg_identity_free(id);
	/* Once the set names keys, a kid must name one of them, even if the secret file would
	 * verify the token. */
	expect_rc(v, sign_kid("HS256", K_SECRET, "nope"), RTG_ERR_KID);
}

/* ==================== reload: is the key still there? ==================== */

static void test_key_present_follows_the_kid_across_reloads(void **state)
{
	struct rtg_jwt_verifier *ab = subset("hs-a", "hs-b"), *a = subset("hs-a", NULL),
				*b = subset("hs-b", NULL);
	struct rtg_identity *id = verify_ok(ab, sign_kid("HS256", K_SECRET, "hs-a"));

	UNUSED(state);
	assert_true(rtg_jwt_key_present(ab, id));
	assert_true(rtg_jwt_key_present(a, id));
	assert_false(rtg_jwt_key_present(b, id));
	rtg_identity_free(id);
	rtg_jwt_verifier_free(ab);
	rtg_jwt_verifier_free(a);
	rtg_jwt_verifier_free(b);
}

static void test_key_present_is_false_when_the_kid_names_other_material(void **state)
{
	struct rtg_jwt_verifier *ab = subset("hs-a", "hs-b"), *swapped;
	struct rtg_identity *id = verify_ok(ab, sign_kid("HS256", K_SECRET, "hs-a"));
	cJSON *b = fixture_key("hs-b");
	char path[4096];

	UNUSED(state);
	cJSON_ReplaceItemInObjectCaseSensitive(b, "kid", cJSON_CreateString("hs-a"));
	write_set(path, sizeof(path), b, NULL);
	swapped = jwks_verifier(path, NULL, false);
	unlink(path);
	assert_false(rtg_jwt_key_present(swapped, id));
	rtg_identity_free(id);
	rtg_jwt_verifier_free(ab);
	rtg_jwt_verifier_free(swapped);
}

static void test_key_present_for_a_token_without_kid_follows_the_material(void **state)
{
	struct rtg_jwt_verifier *single = verifier("HS256"), *a = subset("hs-a", NULL),
				*b = subset("hs-b", NULL);
	struct rtg_identity *id = verify_ok(single, sign_kid("HS256", K_SECRET, NULL));

	UNUSED(state);
	/* The secret file's key moved into a JWKS as hs-a: the same material, still present. */
	assert_true(rtg_jwt_key_present(a, id));
	assert_false(rtg_jwt_key_present(b, id));
	rtg_identity_free(id);
	rtg_jwt_verifier_free(single);
	rtg_jwt_verifier_free(a);
	rtg_jwt_verifier_free(b);
}

/* The single-key options may keep a key the allow-list no longer uses. */
static void test_key_present_is_false_once_the_alg_is_no_longer_allowed(void **state)
{
	struct rtg_jwt_verifier *both = verifier("HS256,RS256"), *hs = verifier("HS256");
	struct rtg_identity *id = verify_ok(both, sign_kid("RS256", K_RSA, NULL));

	UNUSED(state);
	assert_true(rtg_jwt_key_present(both, id));
	assert_false(rtg_jwt_key_present(hs, id));
	rtg_identity_free(id);
	rtg_jwt_verifier_free(both);
	rtg_jwt_verifier_free(hs);
}

static void test_end_time_is_exp_plus_the_leeway(void **state)
{
	struct rtg_jwt_verifier *v0 = verifier_full("HS256", NULL, NULL, NULL, 0);
	struct rtg_jwt_verifier *v7 = verifier_full("HS256", NULL, NULL, NULL, 7);
	struct rtg_identity *id = verify_ok(v0, sign_kid("HS256", K_SECRET, NULL));

	UNUSED(state);
	assert_int_equal(rtg_jwt_end_time(v0, id), 1700003600);
	assert_int_equal(rtg_jwt_end_time(v7, id), 1700003607);
	rtg_identity_free(id);
	rtg_jwt_verifier_free(v0);
	rtg_jwt_verifier_free(v7);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_jwks_oct_key_of_16_bytes_fits_no_algorithm),
		cmocka_unit_test(test_jwks_key_that_fits_no_allowed_alg_is_refused),
		cmocka_unit_test(test_jwks_that_is_not_json_is_refused),
		cmocka_unit_test(test_jwks_without_keys_is_refused),
		cmocka_unit_test(test_jwks_key_that_is_not_an_object_is_refused),
		cmocka_unit_test(test_jwks_with_a_duplicate_kid_is_refused),
		cmocka_unit_test(test_jwks_with_more_than_16_keys_is_refused),
		cmocka_unit_test(test_jwks_rsa_key_of_1024_bits_is_refused),
		cmocka_unit_test(test_jwks_fixture_set_loads_five_keys),
		cmocka_unit_test(test_jwks_each_key_verifies_its_tokens_by_kid),
		cmocka_unit_test(test_jwks_token_with_a_kid_not_in_the_set_is_refused),
		cmocka_unit_test(test_jwks_token_naming_another_keys_kid_has_a_bad_signature),
		cmocka_unit_test(test_jwks_oct_key_never_verifies_rs256),
		cmocka_unit_test(test_jwks_rsa_key_never_verifies_hs256),
		cmocka_unit_test(test_jwks_key_with_alg_verifies_no_other_alg),
		cmocka_unit_test(test_jwks_token_with_a_non_string_kid_is_malformed),
		cmocka_unit_test(test_jwks_token_without_kid_is_tried_against_each_key_of_its_alg),
		cmocka_unit_test(test_single_key_options_ignore_a_kid),
		cmocka_unit_test(test_jwks_and_secret_file_make_one_set),
		cmocka_unit_test(test_key_present_follows_the_kid_across_reloads),
		cmocka_unit_test(test_key_present_is_false_when_the_kid_names_other_material),
		cmocka_unit_test(test_key_present_for_a_token_without_kid_follows_the_material),
		cmocka_unit_test(test_key_present_is_false_once_the_alg_is_no_longer_allowed),
		cmocka_unit_test(test_end_time_is_exp_plus_the_leeway),
	};
	struct CMUnitTest *tests;
	size_t i, n = 0;
	int failed;

	tests = calloc(RTG_ARRAY_SIZE(fixed) + RTG_ARRAY_SIZE(bad_keys), sizeof(*tests));
	if (!tests)
		return 1;
	for (i = 0; i < RTG_ARRAY_SIZE(bad_keys); i++)
		tests[n++] = (struct CMUnitTest){
			bad_keys[i].name, run_bad_key, NULL, NULL, &bad_keys[i]};
	for (i = 0; i < RTG_ARRAY_SIZE(fixed); i++)
		tests[n++] = fixed[i];
	failed = _cmocka_run_group_tests("test_jwks", tests, n, group_setup, group_teardown);
	free(tests);
	return failed;
}
