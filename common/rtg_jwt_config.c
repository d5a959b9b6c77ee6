/*
 * rtg_jwt_config.c - verifier construction (key files, allow-list, key checks) and signing.
 *
 * rtg_jwt_verifier_new() reads the key files once, parses the allow-list and refuses any
 * algorithm without a suitable key, so that rtg_jwt.c can verify without further checks.
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
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "rtg_jwt.h"
#include "rtg_jwt_int.h"
#include "rtg_util.h"

#define KEY_FILE_MAX (64 * 1024)
/* RFC 7518 3.3: RSA keys for RS* must have at least 2048 bits. */
#define RSA_MIN_BITS 2048

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

__attribute__((format(printf, 3, 4))) static void set_error(
	char *errbuf, size_t errlen, const char *fmt, ...)
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
		set_error(errbuf, errlen, "%s %s: %s", what, path, strerror(errno));
	else if (rc == RTG_ERR_INVAL)
		set_error(errbuf, errlen, "%s %s: empty or larger than 64 KiB", what, path);
	else if (rc != RTG_OK)
		set_error(errbuf, errlen, "%s %s: %s", what, path, rtg_strerror(rc));
	return rc;
}

/* Reads the public key file and records whether it holds an RSA key (of at least 2048 bits)
 * or an EC key, and on which curve. libjwt gets the PEM text itself at each verification. */
static enum rtg_err load_public_key(
	struct rtg_jwt_verifier *v, const char *path, char *errbuf, size_t errlen)
{
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	char group[64];
	enum rtg_err rc;

	rc = load_file("public_key_file", path, false, &v->pubkey, &v->pubkey_len, errbuf, errlen);
	if (rc != RTG_OK)
		return rc;
	rc = RTG_ERR_NOMEM;
	bio = BIO_new_mem_buf(v->pubkey, (int)v->pubkey_len);
	if (!bio)
		goto out;
	rc = RTG_ERR_PARSE;
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (!pkey) {
		set_error(errbuf, errlen, "public_key_file %s: not a PEM public key", path);
		goto out;
	}
	v->pkey_type = EVP_PKEY_get_base_id(pkey);
	if (v->pkey_type == EVP_PKEY_RSA && EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS) {
		set_error(errbuf, errlen, "public_key_file %s: RSA key of %d bits, below %d", path,
			EVP_PKEY_get_bits(pkey), RSA_MIN_BITS);
		goto out;
	}
	if (v->pkey_type == EVP_PKEY_EC) {
		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1)
			group[0] = '\0';
		v->curve_nid = OBJ_sn2nid(group);
	} else if (v->pkey_type != EVP_PKEY_RSA) {
		set_error(errbuf, errlen, "public_key_file %s: not an RSA or EC key", path);
		goto out;
	}
	rc = RTG_OK;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
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
				set_error(errbuf, errlen, "algorithms: empty name in the list");
			else if (n == 4 && strncasecmp(p, "none", 4) == 0)
				set_error(errbuf, errlen, "algorithms: \"none\" is never allowed");
			else
				set_error(errbuf, errlen, "algorithms: unknown algorithm \"%.*s\"",
					(int)(n > 32 ? 32 : n), p);
			return RTG_ERR_INVAL;
		}
		v->allowed |= jwt__alg_bit(a);
		if (*end == '\0')
			return RTG_OK;
		p = end + 1;
	}
}

/* With no explicit list: HS256 for a secret, RS256 for an RSA key, the ES* of an EC key's
 * curve (ES256 for P-256). */
static enum rtg_err derive_algs(struct rtg_jwt_verifier *v, char *errbuf, size_t errlen)
{
	size_t i;

	if (v->secret)
		v->allowed |= jwt__alg_bit(jwt__alg_find("HS256", 5));
	if (v->pkey_type == EVP_PKEY_RSA)
		v->allowed |= jwt__alg_bit(jwt__alg_find("RS256", 5));
	for (i = 0; v->pkey_type == EVP_PKEY_EC && i < RTG_ARRAY_SIZE(algs); i++) {
		if (algs[i].family == FAM_EC && algs[i].curve_nid == v->curve_nid)
			v->allowed |= jwt__alg_bit(&algs[i]);
	}
	if (!v->allowed) {
		set_error(errbuf, errlen, "no usable key: set secret_file and/or public_key_file");
		return RTG_ERR_INVAL;
	}
	return RTG_OK;
}

/* Checks that every allowed algorithm has a key it can use. */
static enum rtg_err check_keys(const struct rtg_jwt_verifier *v, char *errbuf, size_t errlen)
{
	const struct alg_info *a;
	size_t i;

	for (i = 0; i < RTG_ARRAY_SIZE(algs); i++) {
		a = &algs[i];
		if (!(v->allowed & jwt__alg_bit(a)))
			continue;
		if (a->family == FAM_HMAC && !v->secret) {
			set_error(errbuf, errlen, "%s needs a secret_file", a->name);
		} else if (a->family == FAM_HMAC && v->secret_len < a->min_secret) {
			set_error(errbuf, errlen,
				"%s needs a secret of at least %zu bytes, not %zu", a->name,
				a->min_secret, v->secret_len);
		} else if (a->family == FAM_RSA && v->pkey_type != EVP_PKEY_RSA) {
			set_error(errbuf, errlen, "%s needs an RSA public_key_file", a->name);
		} else if (a->family == FAM_EC && v->pkey_type != EVP_PKEY_EC) {
			set_error(errbuf, errlen, "%s needs an EC public_key_file", a->name);
		} else if (a->family == FAM_EC && v->curve_nid != a->curve_nid) {
			set_error(errbuf, errlen, "%s needs an EC key on curve %s", a->name,
				EC_curve_nid2nist(a->curve_nid));
		} else {
			continue;
		}
		return RTG_ERR_INVAL;
	}
	return RTG_OK;
}

static enum rtg_err copy_claim_config(
	struct rtg_jwt_verifier *v, const struct rtg_jwt_config *cfg, char *errbuf, size_t errlen)
{
	/* An empty string would silently mean "not checked" to some and "must be empty" to
	 * others: refuse it and ask for NULL. */
	if ((cfg->issuer && !cfg->issuer[0]) || (cfg->audience && !cfg->audience[0])) {
		set_error(errbuf, errlen, "issuer and audience must be NULL or non-empty");
		return RTG_ERR_INVAL;
	}
	if (cfg->issuer && !(v->issuer = strdup(cfg->issuer)))
		return RTG_ERR_NOMEM;
	if (cfg->audience && !(v->audience = strdup(cfg->audience)))
		return RTG_ERR_NOMEM;
	return RTG_OK;
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
		set_error(errbuf, errlen, "no configuration");
		return RTG_ERR_INVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		set_error(errbuf, errlen, "out of memory");
		return RTG_ERR_NOMEM;
	}
	v->leeway = cfg->leeway < 0 ? RTG_JWT_DEFAULT_LEEWAY : cfg->leeway;
	rc = copy_claim_config(v, cfg, errbuf, errlen);
	if (rc == RTG_OK && cfg->secret_file)
		rc = load_file("secret_file", cfg->secret_file, true, &v->secret, &v->secret_len,
			errbuf, errlen);
	/* A PEM key as the HMAC secret would let whoever has the public key sign tokens. */
	if (rc == RTG_OK && v->secret && memmem(v->secret, v->secret_len, "-----BEGIN", 10)) {
		set_error(errbuf, errlen, "secret_file %s: holds a PEM key, not a secret",
			cfg->secret_file);
		rc = RTG_ERR_INVAL;
	}
	if (rc == RTG_OK && cfg->public_key_file)
		rc = load_public_key(v, cfg->public_key_file, errbuf, errlen);
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
		set_error(errbuf, errlen, "out of memory");
	rtg_jwt_verifier_free(v);
	return rc;
}

void rtg_jwt_verifier_free(struct rtg_jwt_verifier *v)
{
	if (!v)
		return;
	if (v->secret)
		OPENSSL_cleanse(v->secret, v->secret_len);
	free(v->secret);
	free(v->pubkey);
	free(v->issuer);
	free(v->audience);
	free(v);
}

long rtg_jwt_verifier_leeway(const struct rtg_jwt_verifier *v)
{
	return v ? v->leeway : 0;
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
	const struct alg_info *a;
	jwt_t *jwt = NULL;
	char *str;
	enum rtg_err rc = RTG_ERR_INVAL;
	int err;

	if (out)
		*out = NULL;
	if (!alg || !key || !keylen || keylen > INT_MAX || !claims_json || !out)
		return RTG_ERR_INVAL;
	a = jwt__alg_find(alg, strlen(alg));
	if (!a)
		return RTG_ERR_INVAL;
	if (jwt_new(&jwt))
		return RTG_ERR_NOMEM;
	if (jwt_add_grants_json(jwt, claims_json))
		goto out;
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
