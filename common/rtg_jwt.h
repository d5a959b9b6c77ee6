/*
 * rtg_jwt.h - JSON Web Token verification (and signing, for tools and tests).
 *
 * Verification is fail-closed and does not trust the token to choose its own
 * key: the header's "alg" must be in the configured allow-list, and a key is
 * used only for the algorithms it fits (an HMAC secret for HS*, an RSA key for
 * RS*, an EC key on the algorithm's curve for ES*, and only the JWK's "alg"
 * when it names one). A verifier holds a key set: the secret file, the public
 * key file and the keys of a JWKS file (RFC 7517). A token's "kid" picks its
 * key from the set; a token without "kid" is tried against each key that fits
 * its algorithm. libjwt checks the signature with that key, and the claims
 * (exp, nbf, iat, iss, aud, sub, roles) are checked here. "alg":"none" is
 * never allowed. A verifier is immutable once made, so rtg_jwt_verify() may
 * run from any thread. Verification is in rtg_jwt.c; making verifiers,
 * reading key files and signing are in rtg_jwt_config.c; JWKS files are read
 * by rtg_jwks.c.
 */
#ifndef RTG_JWT_H
#define RTG_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "rtg_err.h"

/** Longest token accepted, in bytes. Longer tokens give RTG_ERR_TOO_LONG. */
#define RTG_JWT_MAX_LEN 8192
/** Default clock-skew allowance for exp, nbf and iat, in seconds. */
#define RTG_JWT_DEFAULT_LEEWAY 30
/** Most keys one verifier holds (a token without "kid" may be tried against each). */
#define RTG_JWT_MAX_KEYS 16
/** Longest "kid" of a JWKS key, in bytes. */
#define RTG_JWT_KID_MAX 64
/** Bytes of a key fingerprint (the start of a SHA-256 of the key). */
#define RTG_JWT_KEY_FP_LEN 16

/* What a verifier needs. Strings are copied by rtg_jwt_verifier_new(). */
struct rtg_jwt_config {
	const char *secret_file; /* HS* secret as text; one trailing newline dropped; or NULL */
	const char *public_key_file; /* PEM public key (RSA or EC) for RS* / ES*; or NULL */
	const char *algorithms; /* comma list ("HS256,RS256"); NULL or "" = derived from keys */
	const char *issuer; /* required "iss" value, or NULL not to check */
	const char *audience; /* value "aud" must equal or contain, or NULL not to check */
	long leeway; /* seconds of clock skew allowed; < 0 means the default */
	const char
		*jwks_file; /* a JWKS (RFC 7517) of verification keys, each with a kid; or NULL */
};

struct rtg_jwt_verifier;

/* A verified identity. Owned by the caller; free with rtg_identity_free(). */
struct rtg_identity {
	char *sub; /* the user id: non-empty */
	char **roles; /* nroles strings (the "roles" claim), or NULL when nroles == 0 */
	size_t nroles;
	time_t exp; /* expiry, seconds since the epoch; a fractional "exp" is rounded down */
	time_t iat; /* issued-at, or 0 when absent */
	/* Which key verified it, so that a reload can tell whether the key is still there. */
	char *kid; /* the token header's "kid", or NULL when it had none */
	char alg[8]; /* the token header's "alg" */
	unsigned char key_fp[RTG_JWT_KEY_FP_LEN]; /* fingerprint of the key that verified it */
};

/**
 * Makes a verifier from @p cfg: reads the key files (secret file, public key
 * file and JWKS file, any of them), parses the allow-list and checks that
 * every allowed algorithm has a key it fits (a secret at least as long as the
 * hash for HS*, an RSA key for RS*, an EC key on its curve for ES*) and that
 * every key fits an allowed algorithm.
 * @param out set to the new verifier, or NULL on error; free with
 *        rtg_jwt_verifier_free()
 * @param errbuf if not NULL, receives a one-line reason on error
 * @return RTG_OK, RTG_ERR_INVAL (bad config: NULL @p out or @p cfg, an
 *         empty "" issuer or audience (use NULL not to check), a secret file
 *         holding a PEM key, a bad allow-list, no key, or a key unfit for an
 *         allowed algorithm), RTG_ERR_IO (unreadable file), RTG_ERR_PARSE
 *         (bad public key, or a JWKS file that is not JSON, holds a bad key,
 *         a private key, a duplicate kid or more than RTG_JWT_MAX_KEYS keys),
 *         RTG_ERR_NOMEM
 */
enum rtg_err rtg_jwt_verifier_new(struct rtg_jwt_verifier **out, const struct rtg_jwt_config *cfg,
	char *errbuf, size_t errlen);

/** Frees a verifier. NULL is a no-op. */
void rtg_jwt_verifier_free(struct rtg_jwt_verifier *v);

/** Returns the verifier's leeway in seconds, or 0 for a NULL @p v. */
long rtg_jwt_verifier_leeway(const struct rtg_jwt_verifier *v);

/** Returns how many keys the verifier holds, or 0 for a NULL @p v. */
size_t rtg_jwt_verifier_key_count(const struct rtg_jwt_verifier *v);

/**
 * The moment a live connection authenticated as @p id ends: exp + the leeway,
 * the first second at which rtg_jwt_verify() refuses the token as expired.
 * The plugin and the adapter both end connections at this time.
 * @return exp + leeway, or 0 for NULL arguments
 */
time_t rtg_jwt_end_time(const struct rtg_jwt_verifier *v, const struct rtg_identity *id);

/**
 * Returns true if @p v still holds the key that verified @p id and would pick
 * it again: the algorithm is still allowed, and a key with the same
 * fingerprint fits it (under the token's "kid" when the set names its keys).
 * A reload uses it to end only the connections whose key it removed.
 */
bool rtg_jwt_key_present(const struct rtg_jwt_verifier *v, const struct rtg_identity *id);

/**
 * Verifies @p token at time @p now. With L the verifier's leeway, the token
 * is expired when now >= exp + L (RFC 7519 4.1.4: "on or after" exp), and not
 * yet valid while now < nbf - L or now < iat - L. "exp" is required.
 * @param out set to the identity on success, NULL otherwise; free with
 *        rtg_identity_free()
 * @return RTG_OK, or the precise reason: RTG_ERR_TOO_LONG, RTG_ERR_MALFORMED
 *         (bad shape or JSON, duplicate member names in the header or the
 *         claims, a "kid" that is not a string, or a "crit" header),
 *         RTG_ERR_ALG, RTG_ERR_KID (its "kid" names no key of the set),
 *         RTG_ERR_KEY_ALG (the key its "kid" names does not fit its "alg"),
 *         RTG_ERR_BADSIG,
 *         RTG_ERR_EXPIRED, RTG_ERR_NOT_YET_VALID, RTG_ERR_ISSUER,
 *         RTG_ERR_AUDIENCE, RTG_ERR_CLAIM, RTG_ERR_NOMEM,
 *         RTG_ERR_INVAL (NULL arguments)
 */
enum rtg_err rtg_jwt_verify(
	const struct rtg_jwt_verifier *v, const char *token, time_t now, struct rtg_identity **out);

/** Frees an identity. NULL is a no-op. */
void rtg_identity_free(struct rtg_identity *id);

/** Returns a deep copy of @p id, or NULL on out of memory (or NULL @p id). */
struct rtg_identity *rtg_identity_dup(const struct rtg_identity *id);

/** Returns true if @p id carries the role @p role. */
bool rtg_identity_has_role(const struct rtg_identity *id, const char *role);

/**
 * Reads a key file whole. With @p is_secret, one trailing "\n" (or "\r\n") is
 * dropped, as the secret file holds the secret as text. The buffer is also
 * NUL-terminated (not counted in @p len).
 * @param buf set to a malloc'd buffer the caller frees with free(), or NULL
 * @return RTG_OK, RTG_ERR_IO (errno then says why), RTG_ERR_INVAL (NULL
 *         arguments, or a file empty or over 64 KiB), RTG_ERR_NOMEM
 */
enum rtg_err rtg_jwt_read_key_file(
	const char *path, bool is_secret, unsigned char **buf, size_t *len);

/**
 * Checks a signing key by the verifier's own rules (the same table and
 * functions), so that a tool refuses what a verifier would: an unknown
 * algorithm (or "none"); an HMAC secret shorter than the hash (RFC 7518 3.2:
 * 32 bytes for HS256, 48 for HS384, 64 for HS512) or holding a PEM key; a PEM
 * key that is not RSA of at least 2048 bits or EC on the algorithm's curve.
 * @param key the secret, or a PEM private (or public) key; @p is_secret says which
 * @param errbuf receives why not (one line, no file name), if not NULL
 * @return RTG_OK, RTG_ERR_INVAL (unknown algorithm, a key that does not fit it),
 *         RTG_ERR_PARSE (not a usable PEM key), RTG_ERR_NOMEM
 */
enum rtg_err rtg_jwt_key_check(const char *alg, const unsigned char *key, size_t len,
	bool is_secret, char *errbuf, size_t errlen);

/**
 * Signs a token. For tools and tests: no claim is added or checked here.
 * @param alg "HS256", "HS384", "HS512", "RS256", "ES256", ... (never "none")
 * @param key the HMAC secret, or a PEM private key for RS* / ES*
 * @param claims_json a JSON object with the claims, e.g. {"sub":"alice","exp":1700000000}
 * @param out set to the token, a malloc'd string the caller frees with free()
 * @return RTG_OK, RTG_ERR_INVAL (bad alg, key or JSON), RTG_ERR_NOMEM
 */
enum rtg_err rtg_jwt_sign(const char *alg, const unsigned char *key, size_t keylen,
	const char *claims_json, char **out);

/**
 * rtg_jwt_sign() with a "kid" header naming the key.
 * @param kid the key id, 1 to RTG_JWT_KID_MAX bytes, or NULL for no "kid"
 * @return as rtg_jwt_sign(); RTG_ERR_INVAL also for an empty or too long @p kid
 */
enum rtg_err rtg_jwt_sign_kid(const char *alg, const char *kid, const unsigned char *key,
	size_t keylen, const char *claims_json, char **out);

#endif /* RTG_JWT_H */
