/*
 * rtg_jwt_int.h - internals shared by rtg_jwt.c (verification), rtg_jwt_config.c
 * (verifier construction, key files, signing) and rtg_jwks.c (JWKS files, the key set).
 *
 * Private: not part of the public API, installed nowhere, included by those files and by the
 * JWKS unit test and fuzz target only. Code outside them uses rtg_jwt.h. The algorithm table itself lives in rtg_jwt_config.c and
 * is reached through jwt__alg_find(); everything here is read-only, safe from any thread.
 */
#ifndef RTG_JWT_INT_H
#define RTG_JWT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/evp.h>

#include "rtg_jwt.h"

enum alg_family { FAM_HMAC, FAM_RSA, FAM_EC };

struct alg_info {
	const char *name;
	jwt_alg_t jwt;
	enum alg_family family;
	const EVP_MD *(*md)(void);
	size_t min_secret; /* HS*: the hash size, RFC 7518 3.2 */
	int curve_nid; /* ES*: the one curve the algorithm is defined for */
};

/* One verification key of a set. */
struct jwt_key {
	char *kid; /* the JWK's "kid"; NULL for the secret file and the public key file */
	const char *origin; /* "secret_file", "public_key_file" or "jwks_file" (static) */
	enum alg_family family;
	const struct alg_info *alg; /* the JWK's "alg", the only one the key then fits; or NULL */
	unsigned char
		*material; /* HS*: the secret; RS* and ES*: the public key as PEM, for libjwt */
	size_t len;
	int curve_nid; /* FAM_EC: the key's curve */
	unsigned char fp[RTG_JWT_KEY_FP_LEN]; /* identifies the key material */
};

struct rtg_jwt_verifier {
	struct jwt_key keys[RTG_JWT_MAX_KEYS];
	size_t nkeys;
	bool named; /* some key has a kid: a token's kid must then name one */
	unsigned int allowed; /* bit i set: the i-th algorithm of the table is allowed */
	char *issuer;
	char *audience;
	long leeway;
};

/**
 * Looks up an algorithm by name.
 * @param name the name, not necessarily NUL-terminated; compared case-sensitively
 * @param len the length of @p name
 * @return the table entry (static, never freed), or NULL if unknown; "none" is never found
 */
const struct alg_info *jwt__alg_find(const char *name, size_t len);

/**
 * @param a an entry returned by jwt__alg_find()
 * @return the bit of @p a in struct rtg_jwt_verifier's allowed mask
 */
unsigned int jwt__alg_bit(const struct alg_info *a);

/* ---- rtg_jwt.c: base64url and JSON helpers ---- */

/**
 * Decodes unpadded base64url s[0..len) into a malloc'd buffer (NUL-terminated, not counted).
 * @return RTG_OK, RTG_ERR_MALFORMED (a character outside the alphabet, or len % 4 == 1),
 *         RTG_ERR_NOMEM
 */
enum rtg_err jwt__b64url_decode(const char *s, size_t len, unsigned char **out, size_t *outlen);

/** Returns true if the object @p obj has two members of the same name. */
bool jwt__has_duplicate_names(const cJSON *obj);

/* ---- rtg_jwks.c: keys ---- */

/** Returns true if key @p k may verify tokens of algorithm @p a. */
bool jwt__key_fits(const struct jwt_key *k, const struct alg_info *a);

/** Returns the key of the set named @p kid, or NULL. */
const struct jwt_key *jwt__key_by_kid(const struct rtg_jwt_verifier *v, const char *kid);

/**
 * Makes @p k an HMAC key from a copy of secret[0..len), with its fingerprint.
 * @return RTG_OK or RTG_ERR_NOMEM
 */
enum rtg_err jwt__key_set_secret(struct jwt_key *k, const unsigned char *secret, size_t len);

/**
 * Makes @p k an RSA or EC key from @p pkey (not taken): RSA of at least 2048 bits, EC on
 * P-256, P-384 or P-521. Stores the PEM text and the fingerprint.
 * @param what names the key in @p errbuf ("public_key_file x.pem", "jwks_file x: key 'k'")
 * @return RTG_OK, RTG_ERR_PARSE (another kind of key, too short, unknown curve), RTG_ERR_NOMEM
 */
enum rtg_err jwt__key_set_pkey(
	struct jwt_key *k, EVP_PKEY *pkey, const char *what, char *errbuf, size_t errlen);

/** Releases what @p k holds (the secret is wiped) and zeroes it. */
void jwt__key_cleanup(struct jwt_key *k);

/**
 * Adds the keys of the JWKS text @p json (@p len bytes) to @p v, after those it holds.
 * @param what names the file in @p errbuf ("jwks_file /etc/rtg/keys.json")
 * @return RTG_OK, RTG_ERR_PARSE (not a JWKS, a bad or private key, a duplicate kid, too
 *         many keys; @p errbuf says which key and why), RTG_ERR_NOMEM
 */
enum rtg_err jwt__jwks_parse(struct rtg_jwt_verifier *v, const char *json, size_t len,
	const char *what, char *errbuf, size_t errlen);

/** printf-like, into @p errbuf when not NULL. */
__attribute__((format(printf, 3, 4))) void jwt__set_error(
	char *errbuf, size_t errlen, const char *fmt, ...);

#endif /* RTG_JWT_INT_H */
