/*
 * test_jwt_config.c - unit tests for common/rtg_jwt_config.c (making verifiers, reading key
 * files, signing), rtg_strerror() and the identity helpers of rtg_identity.c (cmocka).
 *
 * One named test per way a configuration can be wrong; most are rows of one table run through
 * one helper. It does not test token verification (test_jwt.c does), beyond checking that a
 * key read here verifies a token. Shared fixtures are in jwt_helpers.h; key files that must be
 * odd are written to $TMPDIR (or /tmp) and removed. Single-threaded.
 */
#include "jwt_helpers.h"

#include <unistd.h>

/* ==================== configuration cases ==================== */

struct config_case {
	const char *name;
	const char *secret, *pub, *algs; /* fixture names, or absolute paths */
	enum rtg_err want;
	const char *needle; /* what errbuf must mention */
};

static struct config_case config_cases[] = {
	{"test_config_with_unknown_alg_is_refused", "hs_secret.txt", NULL, "HS256,XS999",
		RTG_ERR_INVAL, "XS999"},
	{"test_config_with_none_in_the_list_is_refused", "hs_secret.txt", NULL, "HS256, none",
		RTG_ERR_INVAL, "none"},
	{"test_config_with_an_empty_list_item_is_refused", "hs_secret.txt", NULL, "HS256,,",
		RTG_ERR_INVAL, "empty"},
	{"test_config_hs_alg_without_secret_is_refused", NULL, "rsa_public.pem", "RS256,HS256",
		RTG_ERR_INVAL, "secret"},
	{"test_config_rs_alg_without_key_is_refused", "hs_secret.txt", NULL, "RS256", RTG_ERR_INVAL,
		"RSA"},
	{"test_config_rs256_with_an_ec_key_is_refused", NULL, "ec_public.pem", "RS256",
		RTG_ERR_INVAL, "RSA"},
	{"test_config_es256_with_an_rsa_key_is_refused", NULL, "rsa_public.pem", "ES256",
		RTG_ERR_INVAL, "EC"},
	{"test_config_es384_with_a_p256_key_is_refused", NULL, "ec_public.pem", "ES384",
		RTG_ERR_INVAL, "P-384"},
	{"test_config_missing_file_is_an_io_error_naming_the_path", "/nonexistent/rtg/secret", NULL,
		NULL, RTG_ERR_IO, "/nonexistent/rtg/secret"},
	{"test_config_public_key_that_is_not_pem_is_a_parse_error", NULL, "hs_secret.txt", NULL,
		RTG_ERR_PARSE, "PEM"},
	{"test_config_private_key_as_public_key_is_a_parse_error", NULL, "rsa_private.pem", NULL,
		RTG_ERR_PARSE, "PEM"},
	{"test_config_with_a_pem_key_as_the_secret_is_refused", "rsa_public.pem", NULL, "HS256",
		RTG_ERR_INVAL, "PEM"},
	{"test_config_without_keys_is_refused", NULL, NULL, NULL, RTG_ERR_INVAL, "key"},
};

/* Expects rtg_jwt_verifier_new() to fail with @p want and an errbuf mentioning @p needle. */
static void expect_config_rc(const char *secret, const char *pub, const char *algs,
	enum rtg_err want, const char *needle)
{
	struct rtg_jwt_config cfg = {NULL, NULL, algs, NULL, NULL, -1, NULL};
	struct rtg_jwt_verifier *v = (struct rtg_jwt_verifier *)&cfg;
	char secret_path[4096], pub_path[4096], err[256] = "";

	snprintf(secret_path, sizeof(secret_path), "%s", secret ? fixture(secret) : "");
	snprintf(pub_path, sizeof(pub_path), "%s", pub ? fixture(pub) : "");
	cfg.secret_file = secret ? secret_path : NULL;
	cfg.public_key_file = pub ? pub_path : NULL;
	assert_int_equal(rtg_jwt_verifier_new(&v, &cfg, err, sizeof(err)), want);
	assert_null(v);
	if (!strstr(err, needle))
		fail_msg("errbuf \"%s\" lacks \"%s\"", err, needle);
}

static void run_config_case(void **state)
{
	const struct config_case *c = *state;

	expect_config_rc(c->secret, c->pub, c->algs, c->want, c->needle);
}

/* ==================== tests that need more than a row ==================== */

static void test_es256_signature_is_raw_r_and_s_of_64_bytes(void **state)
{
	char *token = NULL;

	UNUSED(state);
	/* Not sign(): inlined from jwt_helpers.h into its only caller here, it makes GCC 12 see
	 * &token escape and warn of a dangling pointer (-Wdangling-pointer, a false positive). */
	assert_int_equal(
		rtg_jwt_sign("ES256", keys[K_EC].buf, keys[K_EC].len, CLAIMS(""), &token), RTG_OK);
	assert_non_null(token);
	/* RFC 7518 3.4: R || S is 64 bytes, 86 base64url characters; DER would be 70-72 bytes. */
	assert_int_equal(strlen(strrchr(token, '.') + 1), 86);
	free(token);
}

static void test_secret_file_trailing_newline_is_not_part_of_the_secret(void **state)
{
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	char *token = NULL;

	UNUSED(state);
	assert_int_equal(
		rtg_jwt_read_key_file(fixture("hs_secret.txt"), false, &raw, &rawlen), RTG_OK);
	assert_int_equal(raw[rawlen - 1], '\n');
	assert_int_equal(rtg_jwt_sign("HS256", raw, rawlen - 1, CLAIMS(""), &token), RTG_OK);
	expect_rc(verifier("HS256"), token, RTG_OK);
	free(raw);
}

static void test_secret_file_drops_crlf_but_only_one_newline(void **state)
{
	char path[4096];
	unsigned char *buf = NULL;
	size_t len = 0;

	UNUSED(state);
	write_temp("secret\r\n", 8, path, sizeof(path));
	assert_int_equal(rtg_jwt_read_key_file(path, true, &buf, &len), RTG_OK);
	assert_int_equal(len, 6);
	assert_memory_equal(buf, "secret", 7);
	free(buf);
	unlink(path);
	write_temp("secret\n\n", 8, path, sizeof(path));
	assert_int_equal(rtg_jwt_read_key_file(path, true, &buf, &len), RTG_OK);
	assert_int_equal(len, 7);
	free(buf);
	unlink(path);
}

static void test_key_file_holding_only_a_newline_is_invalid(void **state)
{
	char path[4096];
	unsigned char *buf = (unsigned char *)path;
	size_t len = 1;

	UNUSED(state);
	write_temp("\n", 1, path, sizeof(path));
	assert_int_equal(rtg_jwt_read_key_file(path, true, &buf, &len), RTG_ERR_INVAL);
	assert_null(buf);
	assert_int_equal(len, 0);
	unlink(path);
}

static void test_key_file_over_64_kib_is_invalid_even_ending_in_a_newline(void **state)
{
	char path[4096], *big = malloc(65538);
	unsigned char *buf = NULL;
	size_t len = 0;

	UNUSED(state);
	assert_non_null(big);
	memset(big, 'a', 65538);
	big[65536] = '\n'; /* the 65537th byte, the first one past the limit */
	write_temp(big, 65538, path, sizeof(path));
	assert_int_equal(rtg_jwt_read_key_file(path, true, &buf, &len), RTG_ERR_INVAL);
	assert_null(buf);
	unlink(path);
	write_temp(big, 65536, path, sizeof(path));
	assert_int_equal(rtg_jwt_read_key_file(path, true, &buf, &len), RTG_OK);
	assert_int_equal(len, 65536);
	free(buf);
	unlink(path);
	free(big);
}

static void test_config_hs512_with_a_short_secret_is_refused(void **state)
{
	char path[4096];
	struct rtg_jwt_config cfg = {path, NULL, "HS256", NULL, NULL, -1, NULL};
	struct rtg_jwt_verifier *v = NULL;

	UNUSED(state);
	write_temp("0123456789012345678901234567890123456789\n", 41, path, sizeof(path));
	expect_config_rc(path, NULL, "HS512", RTG_ERR_INVAL, "64 bytes");
	/* 40 bytes are enough for HS256 (32). */
	assert_int_equal(rtg_jwt_verifier_new(&v, &cfg, NULL, 0), RTG_OK);
	rtg_jwt_verifier_free(v);
	unlink(path);
}

static void test_negative_leeway_means_the_default(void **state)
{
	struct rtg_jwt_verifier *v = verifier_full(NULL, NULL, NULL, NULL, -1);

	UNUSED(state);
	assert_int_equal(rtg_jwt_verifier_leeway(v), RTG_JWT_DEFAULT_LEEWAY);
	rtg_jwt_verifier_free(v);
}

static void test_sign_refuses_alg_none_bad_json_and_wrong_key(void **state)
{
	const unsigned char *k = keys[K_SECRET].buf;
	size_t n = keys[K_SECRET].len;
	char *token = (char *)state;

	assert_int_equal(rtg_jwt_sign("none", k, n, CLAIMS(""), &token), RTG_ERR_INVAL);
	assert_null(token);
	assert_int_equal(rtg_jwt_sign("HS256", k, n, "[1]", &token), RTG_ERR_INVAL);
	assert_int_equal(rtg_jwt_sign("RS256", k, n, CLAIMS(""), &token), RTG_ERR_INVAL);
	assert_null(token);
}

static void test_strerror_gives_distinct_non_empty_strings(void **state)
{
	int i, j;

	UNUSED(state);
	for (i = 0; i < RTG_ERR__COUNT; i++) {
		assert_true(strlen(rtg_strerror((enum rtg_err)i)) > 0);
		assert_string_not_equal(rtg_strerror((enum rtg_err)i), "unknown error");
		for (j = 0; j < i; j++)
			assert_string_not_equal(
				rtg_strerror((enum rtg_err)i), rtg_strerror((enum rtg_err)j));
	}
	assert_string_equal(rtg_strerror(RTG_ERR__COUNT), "unknown error");
}

static void test_identity_dup_copies_and_has_role_finds_roles(void **state)
{
	char *roles[] = {"ops", "calc"};
	struct rtg_identity id = {
		.sub = "alice", .roles = roles, .nroles = 2, .exp = 1700003600, .iat = 1699999990};
	struct rtg_identity *copy = rtg_identity_dup(&id);

	UNUSED(state);
	assert_non_null(copy);
	assert_string_equal(copy->sub, "alice");
	assert_ptr_not_equal(copy->sub, id.sub);
	assert_int_equal(copy->nroles, 2);
	assert_int_equal(copy->exp, 1700003600);
	assert_true(rtg_identity_has_role(copy, "calc"));
	assert_false(rtg_identity_has_role(copy, "publisher"));
	assert_false(rtg_identity_has_role(NULL, "ops"));
	assert_null(rtg_identity_dup(NULL));
	rtg_identity_free(copy);
	rtg_identity_free(NULL);
	rtg_jwt_verifier_free(NULL);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_es256_signature_is_raw_r_and_s_of_64_bytes),
		cmocka_unit_test(test_secret_file_trailing_newline_is_not_part_of_the_secret),
		cmocka_unit_test(test_secret_file_drops_crlf_but_only_one_newline),
		cmocka_unit_test(test_key_file_holding_only_a_newline_is_invalid),
		cmocka_unit_test(test_key_file_over_64_kib_is_invalid_even_ending_in_a_newline),
		cmocka_unit_test(test_config_hs512_with_a_short_secret_is_refused),
		cmocka_unit_test(test_negative_leeway_means_the_default),
		cmocka_unit_test(test_sign_refuses_alg_none_bad_json_and_wrong_key),
		cmocka_unit_test(test_strerror_gives_distinct_non_empty_strings),
		cmocka_unit_test(test_identity_dup_copies_and_has_role_finds_roles),
	};
	struct CMUnitTest *tests;
	size_t i, n = 0;
	int failed;

	tests = calloc(RTG_ARRAY_SIZE(fixed) + RTG_ARRAY_SIZE(config_cases), sizeof(*tests));
	if (!tests)
		return 1;
	for (i = 0; i < RTG_ARRAY_SIZE(config_cases); i++)
		tests[n++] = (struct CMUnitTest){
			config_cases[i].name, run_config_case, NULL, NULL, &config_cases[i]};
	for (i = 0; i < RTG_ARRAY_SIZE(fixed); i++)
		tests[n++] = fixed[i];
	/* The group runner behind cmocka_run_group_tests(), which needs an array of fixed size. */
	failed = _cmocka_run_group_tests("test_jwt_config", tests, n, group_setup, group_teardown);
	free(tests);
	return failed;
}
