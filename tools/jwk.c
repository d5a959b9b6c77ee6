/*
 * jwk.c - rtg-token's key publishing: the public JWK (RFC 7517, 7518 section 6) of a secret
 * or PEM key, and adding it to or removing it from a JWKS file, for key rotation.
 *
 * The JWK holds only the public part of an RSA or EC key (a private PEM key is read for its
 * public half); an HMAC secret is its own JWK ("oct", "k"), so that file is as secret as the
 * secret file. A JWKS file is rewritten whole through a temporary file and rename(), so the
 * broker or adapter reloading at that moment reads the old set or the new one, never half.
 * It does not verify tokens; the gateway reads JWKS files with common/rtg_jwks.c.
 * Single-threaded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "jwk.h"
#include "rtg_jwt.h"
#include "rtg_util.h"

/* Base64url without padding (RFC 7515 2) of data[0..len), as a malloc'd string. */
static char *b64url(const unsigned char *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	size_t i, n;

	if (!out)
		return NULL;
	n = (size_t)EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	while (n && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return out;
}

/* Adds name: base64url(data) to obj. Returns false on out of memory. */
static bool add_b64(cJSON *obj, const char *name, const unsigned char *data, size_t len)
{
	char *s = b64url(data, len);
	bool ok = s && cJSON_AddStringToObject(obj, name, s);

	free(s);
	return ok;
}

/* Adds the big number parameter param of pkey, padded to pad bytes (0: its own length). */
static bool add_bn(cJSON *obj, const char *name, const EVP_PKEY *pkey, const char *param, int pad)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n;
	bool ok = false;

	if (!EVP_PKEY_get_bn_param(pkey, param, &bn))
		return false;
	n = pad ? pad : BN_num_bytes(bn);
	if (n > 0 && n <= (int)sizeof(buf) && BN_bn2binpad(bn, buf, n) == n)
		ok = add_b64(obj, name, buf, (size_t)n);
	BN_free(bn);
	return ok;
}

/* Reads a PEM private or public key. */
static EVP_PKEY *read_pem(const unsigned char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey = NULL;

	if (!bio)
		return NULL;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (!pkey && BIO_reset(bio) == 1)
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return pkey;
}

/* The public members of an RSA or EC key. Returns a message on error, NULL on success. */
static const char *add_public(cJSON *jwk, const unsigned char *pem, size_t len)
{
	EVP_PKEY *pkey = read_pem(pem, len);
	char group[64];
	const char *err = NULL, *crv = NULL;
	int coord = 0;

	if (!pkey)
		return "not a PEM RSA or EC key";
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
		if (!cJSON_AddStringToObject(jwk, "kty", "RSA") ||
			!add_bn(jwk, "n", pkey, OSSL_PKEY_PARAM_RSA_N, 0) ||
			!add_bn(jwk, "e", pkey, OSSL_PKEY_PARAM_RSA_E, 0))
			err = "out of memory";
	} else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC &&
		EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) == 1) {
		if (!strcmp(group, "prime256v1"))
			crv = "P-256", coord = 32;
		else if (!strcmp(group, "secp384r1"))
			crv = "P-384", coord = 48;
		else if (!strcmp(group, "secp521r1"))
			crv = "P-521", coord = 66;
		if (!crv)
			err = "an EC key on a curve other than P-256, P-384 or P-521";
		else if (!cJSON_AddStringToObject(jwk, "kty", "EC") ||
			!cJSON_AddStringToObject(jwk, "crv", crv) ||
			!add_bn(jwk, "x", pkey, OSSL_PKEY_PARAM_EC_PUB_X, coord) ||
			!add_bn(jwk, "y", pkey, OSSL_PKEY_PARAM_EC_PUB_Y, coord))
			err = "out of memory";
	} else {
		err = "not an RSA or EC key";
	}
	EVP_PKEY_free(pkey);
	return err;
}

const char *jwk__from_key(const unsigned char *key, size_t len, bool is_secret, const char *kid,
	const char *alg, cJSON **out)
{
	cJSON *jwk = cJSON_CreateObject();
	const char *err = NULL;

	*out = NULL;
	if (!jwk || !cJSON_AddStringToObject(jwk, "kid", kid) ||
		!cJSON_AddStringToObject(jwk, "use", "sig") ||
		(alg && !cJSON_AddStringToObject(jwk, "alg", alg)))
		err = "out of memory";
	else if (is_secret &&
		(!cJSON_AddStringToObject(jwk, "kty", "oct") || !add_b64(jwk, "k", key, len)))
		err = "out of memory";
	else if (!is_secret)
		err = add_public(jwk, key, len);
	if (err) {
		cJSON_Delete(jwk);
		return err;
	}
	*out = jwk;
	return NULL;
}

/* ==================== JWKS files ==================== */

/* Reads the JWKS at path; a file that does not exist is an empty set. */
static const char *jwks_read(const char *path, cJSON **out)
{
	unsigned char *text = NULL;
	size_t len = 0;
	enum rtg_err rc = rtg_jwt_read_key_file(path, false, &text, &len);
	cJSON *keys;

	*out = NULL;
	if (rc == RTG_ERR_IO && errno == ENOENT) {
		*out = cJSON_CreateObject();
		if (!*out || !cJSON_AddArrayToObject(*out, "keys"))
			return "out of memory";
		return NULL;
	}
	if (rc != RTG_OK)
		return rc == RTG_ERR_IO ? strerror(errno) : "empty or larger than 64 KiB";
	*out = cJSON_ParseWithLength((const char *)text, len);
	OPENSSL_cleanse(text, len);
	free(text);
	keys = cJSON_GetObjectItemCaseSensitive(*out, "keys");
	if (!cJSON_IsObject(*out) || !cJSON_IsArray(keys))
		return "not a JWKS (a JSON object with a \"keys\" array)";
	return NULL;
}

/* Writes jwks to path through path.tmp and rename(). A new file is 0600 (it may hold
 * secrets); a file that exists keeps its mode and, where we may, its owner and group, so
 * that the broker's user can still read it after the edit. */
static const char *jwks_write(const char *path, const cJSON *jwks)
{
	char tmp[4096];
	char *text = cJSON_Print(jwks);
	struct stat st;
	bool existed = stat(path, &st) == 0;
	FILE *fp = NULL;
	const char *err = NULL;
	int fd;

	if (!text)
		return "out of memory";
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, existed ? (st.st_mode & 07777) : 0600);
	if (fd >= 0 && existed) {
		(void)fchmod(fd, st.st_mode & 07777); /* open() applied the umask */
		(void)!fchown(fd, st.st_uid, st.st_gid); /* EPERM unless root: then ours */
	}
	fp = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!fp || fprintf(fp, "%s\n", text) < 0 || fflush(fp) != 0)
		err = strerror(errno);
	if (fp && fclose(fp) != 0 && !err)
		err = strerror(errno);
	else if (!fp && fd >= 0)
		close(fd);
	if (!err && rename(tmp, path) != 0)
		err = strerror(errno);
	if (err)
		(void)remove(tmp);
	OPENSSL_cleanse(text, strlen(text));
	cJSON_free(text);
	return err;
}

/* Returns the index of the key named kid in the keys array, or -1. */
static int find_kid(const cJSON *keys, const char *kid)
{
	const cJSON *jwk;
	int i = 0;

	cJSON_ArrayForEach(jwk, keys) {
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(jwk, "kid");

		if (cJSON_IsString(k) && strcmp(k->valuestring, kid) == 0)
			return i;
		i++;
	}
	return -1;
}

const char *jwk__jwks_add(const char *path, cJSON *jwk)
{
	const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
	cJSON *jwks = NULL, *keys;
	const char *err = jwks_read(path, &jwks);

	if (!err) {
		keys = cJSON_GetObjectItemCaseSensitive(jwks, "keys");
		if (find_kid(keys, kid->valuestring) >= 0)
			err = "the set already has a key with this kid";
		else if (!cJSON_AddItemToArray(keys, jwk))
			err = "out of memory";
		else
			jwk = NULL; /* the set has it */
	}
	if (!err)
		err = jwks_write(path, jwks);
	cJSON_Delete(jwk);
	cJSON_Delete(jwks);
	return err;
}

const char *jwk__jwks_remove(const char *path, const char *kid)
{
	cJSON *jwks = NULL, *keys;
	const char *err = jwks_read(path, &jwks);
	int i;

	if (!err) {
		keys = cJSON_GetObjectItemCaseSensitive(jwks, "keys");
		i = find_kid(keys, kid);
		if (i < 0)
			err = "no key with this kid in the set";
		else
			cJSON_DeleteItemFromArray(keys, i);
	}
	if (!err)
		err = jwks_write(path, jwks);
	cJSON_Delete(jwks);
	return err;
}
