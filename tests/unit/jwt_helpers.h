/*
 * jwt_helpers.h - fixtures and signing helpers shared by test_jwt.c and test_jwt_config.c.
 *
 * Header-only (static inline), because the Makefile builds each test binary from exactly one
 * .c file. Keys come from tests/fixtures/ (relative to the repo root, where tests/run.sh runs
 * us; RTG_FIXTURES overrides it) and are read once by the group setup. Tokens are verified at
 * the fixed time NOW. Not a test API for anything else; single-threaded.
 */
#ifndef RTG_TEST_JWT_HELPERS_H
#define RTG_TEST_JWT_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rtg_jwt.h"
#include "rtg_util.h"

#define NOW ((time_t)1700000000)
#define LATER "1700003600" /* NOW + 1 h */
#define CLAIMS(extra) "{\"sub\":\"alice\",\"exp\":" LATER extra "}"

enum key_id { K_SECRET, K_OTHER_SECRET, K_RSA, K_RSA_PUB, K_RSA_OTHER, K_EC, K__COUNT };

static struct {
	const char *file;
	bool is_secret;
	unsigned char *buf;
	size_t len;
} keys[K__COUNT] = {
	[K_SECRET] = {"hs_secret.txt", true, NULL, 0},
	[K_OTHER_SECRET] = {"hs_other_secret.txt", true, NULL, 0},
	[K_RSA] = {"rsa_private.pem", false, NULL, 0},
	[K_RSA_PUB] = {"rsa_public.pem", false, NULL, 0},
	[K_RSA_OTHER] = {"rsa_other_private.pem", false, NULL, 0},
	[K_EC] = {"ec_private.pem", false, NULL, 0},
};

/* Returns the path of a fixture in a static buffer; absolute names are returned as they are. */
static inline const char *fixture(const char *name)
{
	static char path[4096];
	const char *dir = getenv("RTG_FIXTURES");

	if (!name || name[0] == '/')
		return name;
	snprintf(path, sizeof(path), "%s/%s", dir && dir[0] ? dir : "tests/fixtures", name);
	return path;
}

/* Reads every key of keys[] once for the group; -1 fails the whole group. */
static inline int group_setup(void **state)
{
	size_t i;

	UNUSED(state);
	for (i = 0; i < K__COUNT; i++) {
		if (rtg_jwt_read_key_file(fixture(keys[i].file), keys[i].is_secret, &keys[i].buf,
			    &keys[i].len) != RTG_OK) {
			fprintf(stderr,
				"cannot read %s (run from the repo root or set RTG_FIXTURES)\n",
				fixture(keys[i].file));
			return -1;
		}
	}
	return 0;
}

static inline int group_teardown(void **state)
{
	size_t i;

	UNUSED(state);
	for (i = 0; i < K__COUNT; i++)
		free(keys[i].buf);
	return 0;
}

/* Writes data to a new temporary file and puts its name in path; the caller unlinks it. */
static inline void write_temp(const char *data, size_t len, char *path, size_t pathlen)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, pathlen, "%s/rtg_jwt_test_XXXXXX", dir && dir[0] ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Signs @p claims with @p alg and key @p k, failing the test on error; the caller frees. */
static inline char *sign(const char *alg, enum key_id k, const char *claims)
{
	char *token = NULL;

	assert_int_equal(rtg_jwt_sign(alg, keys[k].buf, keys[k].len, claims, &token), RTG_OK);
	assert_non_null(token);
	return token;
}

/* A verifier over the fixture secret and @p pub (the RSA public key when NULL). */
static inline struct rtg_jwt_verifier *verifier_full(
	const char *algs, const char *pub, const char *iss, const char *aud, long leeway)
{
	struct rtg_jwt_config cfg = {NULL, NULL, algs, iss, aud, leeway, NULL};
	struct rtg_jwt_verifier *v = NULL;
	char secret[4096], err[256];

	snprintf(secret, sizeof(secret), "%s", fixture("hs_secret.txt"));
	cfg.secret_file = secret;
	cfg.public_key_file = fixture(pub ? pub : "rsa_public.pem");
	if (rtg_jwt_verifier_new(&v, &cfg, err, sizeof(err)) != RTG_OK)
		fail_msg("verifier: %s", err);
	return v;
}

static inline struct rtg_jwt_verifier *verifier(const char *algs)
{
	return verifier_full(algs, NULL, NULL, NULL, 0);
}

/* Verifies @p token (which it frees) with @p v (which it frees) and expects @p want. */
static inline void expect_rc(struct rtg_jwt_verifier *v, char *token, enum rtg_err want)
{
	struct rtg_identity *id = (struct rtg_identity *)&id;

	assert_int_equal(rtg_jwt_verify(v, token, NOW, &id), want);
	if (want != RTG_OK)
		assert_null(id);
	rtg_identity_free(id);
	rtg_jwt_verifier_free(v);
	free(token);
}

#endif /* RTG_TEST_JWT_HELPERS_H */
