/*
 * rtg_jwks.c - the verifier's key set: keys from an HMAC secret or an OpenSSL public key, and
 * the keys of a JWKS file (RFC 7517, with the key types of RFC 7518 section 6).
 *
 * Debian's libjwt 1.10.2 knows no JWK, so a JWKS is read with cJSON and each RSA or EC key is
 * built with OpenSSL 3 (EVP_PKEY_fromdata), checked (EVP_PKEY_public_check) and written out
 * as PEM, the form libjwt takes. Every key gets a fingerprint of its material, by which a
 * reload tells whether the key a live connection was verified with is still in the set. It
 * reads no file itself (rtg_jwt_config.c does), fetches nothing and accepts no private key.
 * No shared state: every function may run from any thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "rtg_jwt.h"
#include "rtg_jwt_int.h"
#include "rtg_util.h"

/* The curves of ES256, ES384 and ES512 (RFC 7518 3.4), by their JWK "crv" name. */
static const struct {
	const char *crv;
	const char *group; /* OpenSSL's name */
	int nid;
	size_t coord_len; /* bytes of x and y */
} curves[] = {
	{"P-256", "prime256v1", NID_X9_62_prime256v1, 32},
	{"P-384", "secp384r1", NID_secp384r1, 48},
	{"P-521", "secp521r1", NID_secp521r1, 66},
};

/* Members that only a private key has (RFC 7518 6.2.2, 6.3.2). */
static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth"};

/* RFC 7518 3.3: RSA keys for RS* must have at least 2048 bits. */
#define RSA_MIN_BITS 2048

/* ==================== keys ==================== */

bool jwt__key_fits(const struct jwt_key *k, const struct alg_info *a)
{
	if (!k || !a || k->family != a->family || (k->alg && k->alg != a))
		return false;
	if (a->family == FAM_HMAC)
		return k->len >= a->min_secret;
	if (a->family == FAM_EC)
		return k->curve_nid == a->curve_nid;
	return true;
}

const struct jwt_key *jwt__key_by_kid(const struct rtg_jwt_verifier *v, const char *kid)
{
	size_t i;

	for (i = 0; kid && i < v->nkeys; i++) {
		if (v->keys[i].kid && strcmp(v->keys[i].kid, kid) == 0)
			return &v->keys[i];
	}
	return NULL;
}

/* The fingerprint: SHA-256 of a type tag and the key material, cut to RTG_JWT_KEY_FP_LEN. The
 * tag keeps a secret from ever matching a public key's DER. */
static enum rtg_err fingerprint(
	struct jwt_key *k, const char *tag, const unsigned char *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return RTG_ERR_NOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
		EVP_DigestUpdate(ctx, tag, strlen(tag) + 1) && EVP_DigestUpdate(ctx, data, len) &&
		EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (!ok || mdlen < RTG_JWT_KEY_FP_LEN)
		return RTG_ERR_NOMEM;
	memcpy(k->fp, md, RTG_JWT_KEY_FP_LEN);
	OPENSSL_cleanse(md, sizeof(md));
	return RTG_OK;
}

enum rtg_err jwt__key_set_secret(struct jwt_key *k, const unsigned char *secret, size_t len)
{
	k->family = FAM_HMAC;
	k->material = malloc(len + 1);
	if (!k->material)
		return RTG_ERR_NOMEM;
	memcpy(k->material, secret, len);
	k->material[len] = '\0';
	k->len = len;
	return fingerprint(k, "oct", secret, len);
}

/* Writes pkey as PEM into k->material, and fingerprints its DER SubjectPublicKeyInfo. */
static enum rtg_err store_public_key(struct jwt_key *k, EVP_PKEY *pkey)
{
	unsigned char *der = NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL;
	long n;
	int derlen;
	enum rtg_err rc = RTG_ERR_NOMEM;

	if (!bio || !PEM_write_bio_PUBKEY(bio, pkey))
		goto out;
	n = BIO_get_mem_data(bio, &pem);
	if (n <= 0 || !(k->material = malloc((size_t)n + 1)))
		goto out;
	memcpy(k->material, pem, (size_t)n);
	k->material[n] = '\0';
	k->len = (size_t)n;
	derlen = i2d_PUBKEY(pkey, &der);
	if (derlen > 0)
		rc = fingerprint(k, "spki", der, (size_t)derlen);
out:
	OPENSSL_free(der);
	BIO_free(bio);
	return rc;
}

enum rtg_err jwt__key_set_pkey(
	struct jwt_key *k, EVP_PKEY *pkey, const char *what, char *errbuf, size_t errlen)
{
	char group[64];
	size_t i;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS) {
			jwt__set_error(errbuf, errlen, "%s: RSA key of %d bits, below %d", what,
				EVP_PKEY_get_bits(pkey), RSA_MIN_BITS);
			return RTG_ERR_PARSE;
		}
		k->family = FAM_RSA;
		break;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1)
			group[0] = '\0';
		k->family = FAM_EC;
		k->curve_nid = OBJ_sn2nid(group);
		for (i = 0; i < RTG_ARRAY_SIZE(curves) && curves[i].nid != k->curve_nid; i++)
			;
		if (i == RTG_ARRAY_SIZE(curves)) {
			jwt__set_error(errbuf, errlen,
				"%s: EC key on curve \"%s\"; ES256/384/512 need P-256/384/521",
				what, group);
			return RTG_ERR_PARSE;
		}
		break;
	default:
		jwt__set_error(errbuf, errlen, "%s: not an RSA or EC key", what);
		return RTG_ERR_PARSE;
	}
	return store_public_key(k, pkey);
}

void jwt__key_cleanup(struct jwt_key *k)
{
	if (!k)
		return;
	if (k->material && k->family == FAM_HMAC)
		OPENSSL_cleanse(k->material, k->len);
	free(k->material);
	free(k->kid);
	memset(k, 0, sizeof(*k));
}

/* ==================== JWK members ==================== */

/* A JWK member that must be a non-empty base64url string: decoded into *out (malloc'd). */
static enum rtg_err get_b64(const cJSON *jwk, const char *name, unsigned char **out, size_t *len,
	const char *what, char *errbuf, size_t errlen)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(jwk, name);
	enum rtg_err rc;

	*out = NULL;
	if (!cJSON_IsString(item) || !item->valuestring[0]) {
		jwt__set_error(errbuf, errlen, "%s: \"%s\" missing or not a string", what, name);
		return RTG_ERR_PARSE;
	}
	rc = jwt__b64url_decode(item->valuestring, strlen(item->valuestring), out, len);
	if (rc == RTG_ERR_MALFORMED || (rc == RTG_OK && !*len))
		jwt__set_error(errbuf, errlen, "%s: \"%s\" is not base64url", what, name);
	if (rc == RTG_OK && !*len) {
		free(*out);
		*out = NULL;
		rc = RTG_ERR_MALFORMED;
	}
	return rc == RTG_ERR_MALFORMED ? RTG_ERR_PARSE : rc;
}

/* Makes k an RSA or EC key (type) from the parameters in bld, or refuses them with "what:
 * refusal" when OpenSSL does: fromdata takes what it is given, and the public check refuses
 * e.g. a point that is not on the curve, or an even exponent. */
static enum rtg_err key_from_params(struct jwt_key *k, const char *type, OSSL_PARAM_BLD *bld,
	const char *what, const char *refusal, char *errbuf, size_t errlen)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY_CTX *check = NULL;
	EVP_PKEY *pkey = NULL;
	enum rtg_err rc = RTG_ERR_NOMEM;

	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1)
		goto out;
	rc = RTG_ERR_PARSE;
	if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1)
		check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (check && EVP_PKEY_public_check(check) == 1) {
		rc = jwt__key_set_pkey(k, pkey, what, errbuf, errlen);
	} else {
		jwt__set_error(errbuf, errlen, "%s: %s", what, refusal);
		ERR_clear_error(); /* the broker's TLS code reads the thread's error queue */
	}
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return rc;
}

/* kty "RSA": "n" and "e" (RFC 7518 6.3.1). */
static enum rtg_err rsa_key(
	struct jwt_key *k, const cJSON *jwk, const char *what, char *errbuf, size_t errlen)
{
	unsigned char *n = NULL, *e = NULL;
	size_t nlen = 0, elen = 0;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	enum rtg_err rc;

	rc = get_b64(jwk, "n", &n, &nlen, what, errbuf, errlen);
	if (rc == RTG_OK)
		rc = get_b64(jwk, "e", &e, &elen, what, errbuf, errlen);
	if (rc != RTG_OK)
		goto out;
	rc = RTG_ERR_NOMEM;
	bn_n = BN_bin2bn(n, (int)nlen, NULL);
	bn_e = BN_bin2bn(e, (int)elen, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!bn_n || !bn_e || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
		!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		goto out;
	rc = key_from_params(
		k, "RSA", bld, what, "\"n\" and \"e\" are not an RSA public key", errbuf, errlen);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	free(n);
	free(e);
	return rc;
}

/* Returns the curves[] index of the JWK's "crv", or -1 (with the reason in errbuf). */
static int curve_of(const cJSON *jwk, const char *what, char *errbuf, size_t errlen)
{
	const cJSON *crv = cJSON_GetObjectItemCaseSensitive(jwk, "crv");
	size_t i;

	for (i = 0; cJSON_IsString(crv) && i < RTG_ARRAY_SIZE(curves); i++) {
		if (strcmp(crv->valuestring, curves[i].crv) == 0)
			return (int)i;
	}
	jwt__set_error(errbuf, errlen, "%s: \"crv\" must be P-256, P-384 or P-521", what);
	return -1;
}

/* kty "EC": "crv", "x", "y" (RFC 7518 6.2.1), the point as 04 || x || y. */
static enum rtg_err ec_key(
	struct jwt_key *k, const cJSON *jwk, const char *what, char *errbuf, size_t errlen)
{
	unsigned char *x = NULL, *y = NULL, point[1 + 2 * 66];
	size_t xlen = 0, ylen = 0, clen;
	OSSL_PARAM_BLD *bld = NULL;
	char refusal[64];
	int c = curve_of(jwk, what, errbuf, errlen);
	enum rtg_err rc = RTG_ERR_PARSE;

	if (c < 0)
		return RTG_ERR_PARSE;
	clen = curves[c].coord_len;
	rc = get_b64(jwk, "x", &x, &xlen, what, errbuf, errlen);
	if (rc == RTG_OK)
		rc = get_b64(jwk, "y", &y, &ylen, what, errbuf, errlen);
	if (rc == RTG_OK && (xlen != clen || ylen != clen)) {
		jwt__set_error(errbuf, errlen, "%s: \"x\" and \"y\" must be %zu bytes each on %s",
			what, clen, curves[c].crv);
		rc = RTG_ERR_PARSE;
	}
	if (rc != RTG_OK)
		goto out;
	point[0] = 0x04; /* uncompressed */
	memcpy(point + 1, x, clen);
	memcpy(point + 1 + clen, y, clen);
	rc = RTG_ERR_NOMEM;
	bld = OSSL_PARAM_BLD_new();
	if (!bld ||
		!OSSL_PARAM_BLD_push_utf8_string(
			bld, OSSL_PKEY_PARAM_GROUP_NAME, curves[c].group, 0) ||
		!OSSL_PARAM_BLD_push_octet_string(
			bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * clen))
		goto out;
	snprintf(refusal, sizeof(refusal), "\"x\" and \"y\" are not a point on %s", curves[c].crv);
	rc = key_from_params(k, "EC", bld, what, refusal, errbuf, errlen);
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return rc;
}

/* kty "oct": "k", the HMAC secret (RFC 7518 6.4.1). */
static enum rtg_err oct_key(
	struct jwt_key *k, const cJSON *jwk, const char *what, char *errbuf, size_t errlen)
{
	unsigned char *secret = NULL;
	size_t len = 0;
	enum rtg_err rc = get_b64(jwk, "k", &secret, &len, what, errbuf, errlen);

	if (rc == RTG_OK)
		rc = jwt__key_set_secret(k, secret, len);
	if (secret)
		OPENSSL_cleanse(secret, len);
	free(secret);
	return rc;
}

/* ==================== one JWK ==================== */

/* "kid" (required here: rotation selects keys by it), "use" and "alg" (optional), and no
 * member that only a private key has. Sets k->kid and k->alg. */
static enum rtg_err jwk_header(
	struct jwt_key *k, const cJSON *jwk, const char *what, char *errbuf, size_t errlen)
{
	const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
	const cJSON *use = cJSON_GetObjectItemCaseSensitive(jwk, "use");
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(jwk, "alg");
	size_t i;

	if (!cJSON_IsString(kid) || !kid->valuestring[0] ||
		strlen(kid->valuestring) > RTG_JWT_KID_MAX) {
		jwt__set_error(errbuf, errlen, "%s: \"kid\" must be a string of 1 to %d bytes",
			what, RTG_JWT_KID_MAX);
		return RTG_ERR_PARSE;
	}
	if (use && (!cJSON_IsString(use) || strcmp(use->valuestring, "sig") != 0)) {
		jwt__set_error(errbuf, errlen, "%s: \"use\" is not \"sig\"", what);
		return RTG_ERR_PARSE;
	}
	for (i = 0; i < RTG_ARRAY_SIZE(private_members); i++) {
		if (cJSON_HasObjectItem(jwk, private_members[i])) {
			jwt__set_error(errbuf, errlen,
				"%s: holds a private key (\"%s\"); give only the public part", what,
				private_members[i]);
			return RTG_ERR_PARSE;
		}
	}
	if (alg &&
		(!cJSON_IsString(alg) ||
			!(k->alg = jwt__alg_find(alg->valuestring, strlen(alg->valuestring))))) {
		jwt__set_error(errbuf, errlen, "%s: unknown \"alg\"", what);
		return RTG_ERR_PARSE;
	}
	k->kid = strdup(kid->valuestring);
	return k->kid ? RTG_OK : RTG_ERR_NOMEM;
}

/* Reads one JWK into k (which the caller cleans up, also on error). */
static enum rtg_err jwk_read(
	struct jwt_key *k, const cJSON *jwk, const char *what, char *errbuf, size_t errlen)
{
	const cJSON *kty = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
	enum rtg_err rc;

	k->origin = "jwks_file";
	if (!cJSON_IsObject(jwk) || jwt__has_duplicate_names(jwk)) {
		jwt__set_error(
			errbuf, errlen, "%s: not a JSON object with unique member names", what);
		return RTG_ERR_PARSE;
	}
	rc = jwk_header(k, jwk, what, errbuf, errlen);
	if (rc != RTG_OK)
		return rc;
	if (!cJSON_IsString(kty)) {
		jwt__set_error(errbuf, errlen, "%s: \"kty\" missing", what);
		return RTG_ERR_PARSE;
	}
	if (strcmp(kty->valuestring, "oct") == 0)
		rc = oct_key(k, jwk, what, errbuf, errlen);
	else if (strcmp(kty->valuestring, "RSA") == 0)
		rc = rsa_key(k, jwk, what, errbuf, errlen);
	else if (strcmp(kty->valuestring, "EC") == 0)
		rc = ec_key(k, jwk, what, errbuf, errlen);
	else {
		jwt__set_error(errbuf, errlen,
			"%s: \"kty\" \"%.16s\" is not supported (oct, RSA or EC)", what,
			kty->valuestring);
		return RTG_ERR_PARSE;
	}
	if (rc == RTG_OK && k->alg && !jwt__key_fits(k, k->alg)) {
		jwt__set_error(errbuf, errlen, "%s: a %s key does not fit \"alg\" %s", what,
			kty->valuestring, k->alg->name);
		rc = RTG_ERR_PARSE;
	}
	return rc;
}

/* ==================== the set ==================== */

enum rtg_err jwt__jwks_parse(struct rtg_jwt_verifier *v, const char *json, size_t len,
	const char *what, char *errbuf, size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(root, "keys");
	const cJSON *jwk;
	char where[512];
	enum rtg_err rc = RTG_ERR_PARSE;
	int i = 0;

	if (!cJSON_IsObject(root) || !cJSON_IsArray(keys) || !keys->child) {
		jwt__set_error(errbuf, errlen,
			"%s: not a JWKS (a JSON object with a non-empty \"keys\" array)", what);
		goto out;
	}
	cJSON_ArrayForEach(jwk, keys) {
		const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
		struct jwt_key *k = &v->keys[v->nkeys];

		if (cJSON_IsString(kid))
			snprintf(where, sizeof(where), "%s: key '%.64s'", what, kid->valuestring);
		else
			snprintf(where, sizeof(where), "%s: key %d", what, i);
		i++;
		if (v->nkeys == RTG_JWT_MAX_KEYS) {
			jwt__set_error(
				errbuf, errlen, "%s: more than %d keys", what, RTG_JWT_MAX_KEYS);
			rc = RTG_ERR_PARSE;
			goto out;
		}
		rc = jwk_read(k, jwk, where, errbuf, errlen);
		if (rc == RTG_OK && k->kid && jwt__key_by_kid(v, k->kid)) {
			jwt__set_error(errbuf, errlen, "%s: a second key with this kid", where);
			rc = RTG_ERR_PARSE;
		}
		if (rc != RTG_OK) {
			jwt__key_cleanup(k);
			goto out;
		}
		v->nkeys++;
		v->named = true;
	}
	rc = RTG_OK;
out:
	cJSON_Delete(root);
	return rc;
}
