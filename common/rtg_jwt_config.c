/*
 * rtg_jwt_config.c - verifier construction (key files, allow-list, key checks) and signing.
 *
 * rtg_jwt_verifier_new() reads the key files once (the secret file, the public key file and
 * the JWKS file, whose keys rtg_jwks.c reads), parses the allow-list and refuses any algorithm
 * without a key that fits it and any key that fits no allowed algorithm, so that rtg_jwt.c
 * can verify without further checks.
 * It does not verify tokens (rtg_jwt.c does) and never fetches keys from anywhere but the
 * configured files. rtg_jwt_sign() is for tools and tests. No shared state: a verifier is
 * read-only once made, and every function here may run from any thread.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "rtg_jwt.h"
#include "rtg_jwt_int.h"
#include "rtg_util.h"

#define KEY_FILE_MAX (64 * 1024)

static const struct alg_info algs[] = {
	{"HS256", JWT_ALG_HS256, FAM_HMAC, EVP_sha256, 32, 0},
	{"HS384", JWT_ALG_HS384, FAM_HMAC, EVP_sha384, 48, 0},
	{"HS512", JWT_ALG_HS512, FAM_HMAC, EVP_sha512, 64, 0},
	{"RS256", JWT_ALG_RS256, FAM_RSA, EVP_sha256, 0, 0},
	{"RS384", JWT_ALG_RS384, FAM_RSA, EVP_sha384, 0, 0},
	{"RS512", JWT_ALG_RS512, FAM_RSA, EVP_sha512, 0, 0},
	{"ES256", JWT_ALG_ES256, FAM_EC, EVP_sha256, 0, NID_X9_62_prime256v1},
	{"ES384", JWT_ALG_ES384, FAM_EC, EVP_sha384, 0, NID_secp384r1},
	{"ES512", JWT_ALG_ES512, FAM_EC, EVP_sha512, 0, NID_secp521r1},
};

/* ==================== helpers: errors, algorithm names ==================== */

void jwt__set_error(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errbuf || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/* Returns the algorithm named exactly (case-sensitively) by name[0..len), or NULL. "none" is
 * not in the table, so it is never found. */
const struct alg_info *jwt__alg_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < RTG_ARRAY_SIZE(algs); i++) {
		if (strlen(algs[i].name) == len && memcmp(algs[i].name, name, len) == 0)
			return &algs[i];
	}
	return NULL;
}

/* Each table row has one bit of the allowed mask, by its index; the table has far fewer than
 * 32 rows. */
unsigned int jwt__alg_bit(const struct alg_info *a)
{
	return 1u << (unsigned int)(a - algs);
}

/* ==================== verifier construction ==================== */

static enum rtg_err load_file(const char *what, const char *path, bool is_secret,
	unsigned char **buf, size_t *len, char *errbuf, size_t errlen)
{
	enum rtg_err rc = rtg_jwt_read_key_file(path, is_secret, buf, len);

	if (rc == RTG_ERR_IO)
		jwt__set_error(errbuf, errlen, "%s %s: %s", what, path, strerror(errno));
	else if (rc == RTG_ERR_INVAL)
		jwt__set_error(errbuf, errlen, "%s %s: empty or larger than 64 KiB", what, path);
	else if (rc != RTG_OK)
		jwt__set_error(errbuf, errlen, "%s %s: %s", what, path, rtg_strerror(rc));
	return rc;
}

/* The secret file: one HMAC key without a kid. A PEM key as the HMAC secret would let whoever
 * has the public key sign tokens, so it is refused. */
static enum rtg_err load_secret(
	struct rtg_jwt_verifier *v, const char *path, char *errbuf, size_t errlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	enum rtg_err rc = load_file("secret_file", path, true, &buf, &len, errbuf, errlen);

	if (rc == RTG_OK && memmem(buf, len, "-----BEGIN", 10)) {
		jwt__set_error(
			errbuf, errlen, "secret_file %s: holds a PEM key, not a secret", path);
		rc = RTG_ERR_INVAL;
	}
	if (rc == RTG_OK) {
		v->keys[v->nkeys].origin = "secret_file";
		rc = jwt__key_set_secret(&v->keys[v->nkeys], buf, len);
		v->nkeys++; /* cleaned up with the verifier, also on error */
	}
	if (buf)
		OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

/* The public key file: one RSA (of at least 2048 bits) or EC key without a kid. */
static enum rtg_err load_public_key(
	struct rtg_jwt_verifier *v, const char *path, char *errbuf, size_t errlen)
{
	unsigned char *pem = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	char what[300];
	enum rtg_err rc;

	rc = load_file("public_key_file", path, false, &pem, &len, errbuf, errlen);
	if (rc != RTG_OK)
		return rc;
	rc = RTG_ERR_NOMEM;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		goto out;
	rc = RTG_ERR_PARSE;
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (!pkey) {
		jwt__set_error(errbuf, errlen, "public_key_file %s: not a PEM public key", path);
		ERR_clear_error(); /* the broker's TLS code reads the thread's error queue */
		goto out;
	}
	snprintf(what, sizeof(what), "public_key_file %s", path);
	v->keys[v->nkeys].origin = "public_key_file";
	rc = jwt__key_set_pkey(&v->keys[v->nkeys], pkey, what, errbuf, errlen);
	v->nkeys++;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	free(pem);
	return rc;
}

/* The JWKS file: its keys join the set, each with its kid. */
static enum rtg_err load_jwks(
	struct rtg_jwt_verifier *v, const char *path, char *errbuf, size_t errlen)
{
	unsigned char *json = NULL;
	size_t len = 0;
	char what[300];
	enum rtg_err rc = load_file("jwks_file", path, false, &json, &len, errbuf, errlen);

	if (rc != RTG_OK)
		return rc;
	snprintf(what, sizeof(what), "jwks_file %s", path);
	rc = jwt__jwks_parse(v, (const char *)json, len, what, errbuf, errlen);
	OPENSSL_cleanse(json, len); /* oct keys are secrets */
	free(json);
	return rc;
}

/* Parses "HS256, RS256" into v->allowed. Names are case-sensitive; "none", unknown names
 * and empty items are configuration errors. */
static enum rtg_err parse_alg_list(
	struct rtg_jwt_verifier *v, const char *list, char *errbuf, size_t errlen)
{
	const char *p = list, *end;
	const struct alg_info *a;
	size_t n;

	for (;;) {
		p += strspn(p, " \t");
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		a = jwt__alg_find(p, n);
		if (!a) {
			if (n == 0)
				jwt__set_error(
					errbuf, errlen, "algorithms: empty name in the list");
			else if (n == 4 && strncasecmp(p, "none", 4) == 0)
				jwt__set_error(
					errbuf, errlen, "algorithms: \"none\" is never allowed");
			else
				jwt__set_error(errbuf, errlen,
					"algorithms: unknown algorithm \"%.*s\"",
					(int)(n > 32 ? 32 : n), p);
			return RTG_ERR_INVAL;
		}
		v->allowed |= jwt__alg_bit(a);
		if (*end == '\0')
			return RTG_OK;
		p = end + 1;
	}
}

/* With no explicit list, each key allows its own algorithm: the JWK's "alg" if it names one,
 * else HS256 for a secret, RS256 for an RSA key, the ES* of an EC key's curve. */
static enum rtg_err derive_algs(struct rtg_jwt_verifier *v, char *errbuf, size_t errlen)
{
	const struct jwt_key *k;
	size_t i, j;

	for (i = 0; i < v->nkeys; i++) {
		k = &v->keys[i];
		if (k->alg) {
			v->allowed |= jwt__alg_bit(k->alg);
			continue;
		}
		for (j = 0; j < RTG_ARRAY_SIZE(algs); j++) {
			if (algs[j].family != k->family)
				continue;
			if (k->family != FAM_EC || algs[j].curve_nid == k->curve_nid) {
				v->allowed |= jwt__alg_bit(&algs[j]);
				break; /* the first of the family: HS256, RS256; ES* by curve */
			}
		}
	}
	if (!v->allowed) {
		jwt__set_error(errbuf, errlen,
			"no usable key: set secret_file, public_key_file and/or jwks_file");
		return RTG_ERR_INVAL;
	}
	return RTG_OK;
}

/* Why key k (NULL: none of a's family) does not fit algorithm a, in the words of the
 * single-key options (the most common setup). */
static void explain_unfit(
	const struct jwt_key *k, const struct alg_info *a, char *errbuf, size_t errlen)
{
	if (a->family == FAM_HMAC && !k)
		jwt__set_error(errbuf, errlen, "%s needs a secret_file or an oct key", a->name);
	else if (a->family == FAM_HMAC)
		jwt__set_error(errbuf, errlen, "%s needs a secret of at least %zu bytes, not %zu",
			a->name, a->min_secret, k->len);
	else if (a->family == FAM_RSA)
		jwt__set_error(
			errbuf, errlen, "%s needs an RSA public_key_file or RSA key", a->name);
	else if (!k)
		jwt__set_error(errbuf, errlen, "%s needs an EC public_key_file or EC key", a->name);
	else
		jwt__set_error(errbuf, errlen, "%s needs an EC key on curve %s", a->name,
			EC_curve_nid2nist(a->curve_nid));
}

/* Why no key of the set fits the allowed algorithm a. */
static void explain_no_key(
	const struct rtg_jwt_verifier *v, const struct alg_info *a, char *errbuf, size_t errlen)
{
	const struct jwt_key *k = NULL;
	size_t i;

	for (i = 0; i < v->nkeys && !k; i++) {
		if (v->keys[i].family == a->family)
			k = &v->keys[i];
	}
	explain_unfit(k, a, errbuf, errlen);
}

/* Checks that every allowed algorithm has a key that fits it, and that every JWKS key fits an
 * allowed algorithm (such a key no token can use is a mistake in the file). The single-key
 * options may hold a key the allow-list leaves unused, as they always could. */
static enum rtg_err check_keys(const struct rtg_jwt_verifier *v, char *errbuf, size_t errlen)
{
	size_t i, j;
	bool used;

	for (i = 0; i < RTG_ARRAY_SIZE(algs); i++) {
		if (!(v->allowed & jwt__alg_bit(&algs[i])))
			continue;
		for (j = 0; j < v->nkeys && !jwt__key_fits(&v->keys[j], &algs[i]); j++)
			;
		if (j == v->nkeys) {
			explain_no_key(v, &algs[i], errbuf, errlen);
			return RTG_ERR_INVAL;
		}
	}
	for (j = 0; j < v->nkeys; j++) {
		used = !v->keys[j].kid;
		for (i = 0; i < RTG_ARRAY_SIZE(algs) && !used; i++)
			used = (v->allowed & jwt__alg_bit(&algs[i])) &&
				jwt__key_fits(&v->keys[j], &algs[i]);
		if (!used) {
			jwt__set_error(errbuf, errlen,
				"jwks_file: key '%s' fits none of the allowed algorithms",
				v->keys[j].kid);
			return RTG_ERR_INVAL;
		}
	}
	return RTG_OK;
}

static enum rtg_err copy_claim_config(
	struct rtg_jwt_verifier *v, const struct rtg_jwt_config *cfg, char *errbuf, size_t errlen)
{
	/* An empty string would silently mean "not checked" to some and "must be empty" to
	 * others: refuse it and ask for NULL. */
	if ((cfg->issuer && !cfg->issuer[0]) || (cfg->audience && !cfg->audience[0])) {
		jwt__set_error(errbuf, errlen, "issuer and audience must be NULL or non-empty");
		return RTG_ERR_INVAL;
	}
	if (cfg->issuer && !(v->issuer = strdup(cfg->issuer)))
		return RTG_ERR_NOMEM;
	if (cfg->audience && !(v->audience = strdup(cfg->audience)))
		return RTG_ERR_NOMEM;
	return RTG_OK;
}

/* Reads the three key sources, in this order (the order a token without kid tries them). */
static enum rtg_err load_keys(
	struct rtg_jwt_verifier *v, const struct rtg_jwt_config *cfg, char *errbuf, size_t errlen)
{
	enum rtg_err rc = RTG_OK;

	if (cfg->secret_file)
		rc = load_secret(v, cfg->secret_file, errbuf, errlen);
	if (rc == RTG_OK && cfg->public_key_file)
		rc = load_public_key(v, cfg->public_key_file, errbuf, errlen);
	if (rc == RTG_OK && cfg->jwks_file)
		rc = load_jwks(v, cfg->jwks_file, errbuf, errlen);
	return rc;
}

enum rtg_err rtg_jwt_verifier_new(struct rtg_jwt_verifier **out, const struct rtg_jwt_config *cfg,
	char *errbuf, size_t errlen)
{
	struct rtg_jwt_verifier *v;
	enum rtg_err rc;

	if (out)
		*out = NULL;
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!out || !cfg) {
		jwt__set_error(errbuf, errlen, "no configuration");
		return RTG_ERR_INVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		jwt__set_error(errbuf, errlen, "out of memory");
		return RTG_ERR_NOMEM;
	}
	v->leeway = cfg->leeway < 0 ? RTG_JWT_DEFAULT_LEEWAY : cfg->leeway;
	rc = copy_claim_config(v, cfg, errbuf, errlen);
	if (rc == RTG_OK)
		rc = load_keys(v, cfg, errbuf, errlen);
	if (rc == RTG_OK && cfg->algorithms && cfg->algorithms[0])
		rc = parse_alg_list(v, cfg->algorithms, errbuf, errlen);
	else if (rc == RTG_OK)
		rc = derive_algs(v, errbuf, errlen);
	if (rc == RTG_OK)
		rc = check_keys(v, errbuf, errlen);
	if (rc != RTG_OK)
		goto error;
	*out = v;
	return RTG_OK;

error:
	if (rc == RTG_ERR_NOMEM)
		jwt__set_error(errbuf, errlen, "out of memory");
	rtg_jwt_verifier_free(v);
	return rc;
}

void rtg_jwt_verifier_free(struct rtg_jwt_verifier *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < v->nkeys; i++)
		jwt__key_cleanup(&v->keys[i]);
	free(v->issuer);
	free(v->audience);
	free(v);
}

long rtg_jwt_verifier_leeway(const struct rtg_jwt_verifier *v)
{
	return v ? v->leeway : 0;
}

size_t rtg_jwt_verifier_key_count(const struct rtg_jwt_verifier *v)
{
	return v ? v->nkeys : 0;
}

/* ==================== key files and signing ==================== */

enum rtg_err rtg_jwt_read_key_file(
	const char *path, bool is_secret, unsigned char **buf, size_t *len)
{
	unsigned char *data = NULL;
	enum rtg_err rc = RTG_ERR_NOMEM;
	size_t n = 0;
	int saved_errno = 0;
	FILE *fp;

	if (buf)
		*buf = NULL;
	if (len)
		*len = 0;
	if (!path || !buf || !len)
		return RTG_ERR_INVAL;
	fp = fopen(path, "rb");
	if (!fp)
		return RTG_ERR_IO;
	/* Read one byte more than allowed, to tell a full-size file from an oversized one. */
	data = malloc(KEY_FILE_MAX + 2);
	if (!data)
		goto out;
	n = fread(data, 1, KEY_FILE_MAX + 1, fp);
	rc = RTG_ERR_IO;
	saved_errno = ferror(fp) ? (errno ? errno : EIO) : 0;
	if (saved_errno)
		goto out;
	rc = RTG_ERR_INVAL;
	if (n > KEY_FILE_MAX) /* before the newline is dropped, or 64 KiB + "\n" would pass */
		goto out;
	if (is_secret && n && data[n - 1] == '\n')
		n -= (n >= 2 && data[n - 2] == '\r') ? 2 : 1;
	rc = n ? RTG_OK : RTG_ERR_INVAL;
out:
	fclose(fp);
	if (rc == RTG_OK) {
		data[n] = '\0';
		*buf = data;
		*len = n;
	} else if (data) {
		OPENSSL_cleanse(data, KEY_FILE_MAX + 2);
		free(data);
	}
	if (saved_errno)
		errno = saved_errno; /* for the caller's strerror(), past fclose() */
	return rc;
}

/*
 * jwt_encode_str() returns a string built with calloc()/realloc() by libjwt 1.10.2 itself
 * (__append_str in jwt.c; there is no jwt_free_str nor custom allocator in that version),
 * so the caller frees it with plain free().
 */
enum rtg_err rtg_jwt_sign(const char *alg, const unsigned char *key, size_t keylen,
	const char *claims_json, char **out)
{
	return rtg_jwt_sign_kid(alg, NULL, key, keylen, claims_json, out);
}

enum rtg_err rtg_jwt_sign_kid(const char *alg, const char *kid, const unsigned char *key,
	size_t keylen, const char *claims_json, char **out)
{
	const struct alg_info *a;
	jwt_t *jwt = NULL;
	char *str;
	enum rtg_err rc = RTG_ERR_INVAL;
	int err;

	if (out)
		*out = NULL;
	if (!alg || !key || !keylen || keylen > INT_MAX || !claims_json || !out)
		return RTG_ERR_INVAL;
	if (kid && (!kid[0] || strlen(kid) > RTG_JWT_KID_MAX))
		return RTG_ERR_INVAL;
	a = jwt__alg_find(alg, strlen(alg));
	if (!a)
		return RTG_ERR_INVAL;
	if (jwt_new(&jwt))
		return RTG_ERR_NOMEM;
	if (jwt_add_grants_json(jwt, claims_json))
		goto out;
	if (kid && jwt_add_header(jwt, "kid", kid)) {
		rc = RTG_ERR_NOMEM;
		goto out;
	}
	err = jwt_set_alg(jwt, a->jwt, key, (int)keylen);
	if (err) {
		rc = err == ENOMEM ? RTG_ERR_NOMEM : RTG_ERR_INVAL;
		goto out;
	}
	str = jwt_encode_str(jwt);
	if (!str) {
		rc = errno == ENOMEM ? RTG_ERR_NOMEM : RTG_ERR_INVAL;
		goto out;
	}
	*out = str;
	rc = RTG_OK;
out:
	jwt_free(jwt);
	return rc;
}

/* ==================== the signer's check ==================== */

static const char *family_name(enum alg_family f)
{
	return f == FAM_HMAC ? "an HMAC" : f == FAM_RSA ? "an RSA" : "an EC";
}

/* Makes k from a PEM private key (a public one will do for the check, too). */
static enum rtg_err key_from_pem(
	struct jwt_key *k, const unsigned char *pem, size_t len, char *errbuf, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey = NULL;
	enum rtg_err rc = RTG_ERR_NOMEM;

	if (!bio)
		return rc;
	/* "" as the passphrase: an encrypted key fails here instead of prompting */
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
	if (!pkey && BIO_reset(bio) == 1)
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, (void *)"");
	ERR_clear_error();
	rc = RTG_ERR_PARSE;
	if (!pkey)
		jwt__set_error(errbuf, errlen, "not a PEM key (an unencrypted RSA or EC key)");
	else
		rc = jwt__key_set_pkey(k, pkey, "the key", errbuf, errlen);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return rc;
}

/*
 * The verifier's key rules for a signer (rtg-token): the same algorithm table,
 * jwt__key_set_*() and jwt__key_fits(), so that what is signed here is what a
 * verifier with that key takes, by construction.
 */
enum rtg_err rtg_jwt_key_check(const char *alg, const unsigned char *key, size_t len,
	bool is_secret, char *errbuf, size_t errlen)
{
	const struct alg_info *a = alg ? jwt__alg_find(alg, strlen(alg)) : NULL;
	struct jwt_key k;
	enum rtg_err rc;

	memset(&k, 0, sizeof(k));
	if (!a) {
		jwt__set_error(errbuf, errlen,
			"unknown algorithm '%s' (HS256, HS384, HS512, RS256, RS384, RS512, ES256, "
			"ES384, ES512)",
			alg ? alg : "");
		return RTG_ERR_INVAL;
	}
	if (!key || !len) {
		jwt__set_error(errbuf, errlen, "no key");
		return RTG_ERR_INVAL;
	}
	if (is_secret && memmem(key, len, "-----BEGIN", 10)) {
		jwt__set_error(errbuf, errlen, "holds a PEM key, not a secret");
		return RTG_ERR_INVAL;
	}
	if (is_secret)
		rc = jwt__key_set_secret(&k, key, len);
	else
		rc = key_from_pem(&k, key, len, errbuf, errlen);
	if (rc == RTG_OK && !jwt__key_fits(&k, a)) {
		if (k.family == a->family)
			explain_unfit(&k, a, errbuf, errlen);
		else
			jwt__set_error(errbuf, errlen, "%s needs %s key, not %s key", a->name,
				family_name(a->family), family_name(k.family));
		rc = RTG_ERR_INVAL;
	}
	jwt__key_cleanup(&k);
	return rc;
}
