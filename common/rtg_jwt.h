/*
 * rtg_jwt.h - JSON Web Token verification (and signing, for tools and tests).
 *
 * Verification is fail-closed and does not trust the token to choose its own
 * key: the header's "alg" must be in the configured allow-list, the key is
 * picked by algorithm family (HS* use the secret file only, RS* and ES* the public
 * key file only), libjwt checks the signature with that key, and the claims
 * (exp, nbf, iat, iss, aud, sub, roles) are checked here. "alg":"none" is
 * never allowed. A verifier is immutable once made, so rtg_jwt_verify() may
 * run from any thread. Verification is in rtg_jwt.c; making verifiers,
 * reading key files and signing are in rtg_jwt_config.c.
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

/* What a verifier needs. Strings are copied by rtg_jwt_verifier_new(). */
struct rtg_jwt_config {
	const char *secret_file; /* HS* secret as text; one trailing newline dropped; or NULL */
	const char *public_key_file; /* PEM public key (RSA or EC) for RS* / ES*; or NULL */
	const char *algorithms; /* comma list ("HS256,RS256"); NULL or "" = derived from keys */
	const char *issuer; /* required "iss" value, or NULL not to check */
	const char *audience; /* value "aud" must equal or contain, or NULL not to check */
	long leeway; /* seconds of clock skew allowed; < 0 means the default */
};

struct rtg_jwt_verifier;

/* A verified identity. Owned by the caller; free with rtg_identity_free(). */
struct rtg_identity {
	char *sub; /* the user id: non-empty */
	char **roles; /* nroles strings (the "roles" claim), or NULL when nroles == 0 */
	size_t nroles;
	time_t exp; /* expiry, seconds since the epoch; a fractional "exp" is rounded down */
	time_t iat; /* issued-at, or 0 when absent */
};

/**
 * Makes a verifier from @p cfg: reads the key files, parses the allow-list
 * and checks that every allowed algorithm has a suitable key (a secret at
 * least as long as the hash for HS*, an RSA key for RS*, an EC key for ES*).
 * @param out set to the new verifier, or NULL on error; free with
 *        rtg_jwt_verifier_free()
 * @param errbuf if not NULL, receives a one-line reason on error
 * @return RTG_OK, RTG_ERR_INVAL (bad config: NULL @p out or @p cfg, an
 *         empty "" issuer or audience (use NULL not to check), a secret file
 *         holding a PEM key, a bad allow-list, no key, or a key unfit for an
 *         allowed algorithm), RTG_ERR_IO (unreadable file), RTG_ERR_PARSE
 *         (bad public key), RTG_ERR_NOMEM
 */
enum rtg_err rtg_jwt_verifier_new(struct rtg_jwt_verifier **out, const struct rtg_jwt_config *cfg,
	char *errbuf, size_t errlen);

/** Frees a verifier. NULL is a no-op. */
void rtg_jwt_verifier_free(struct rtg_jwt_verifier *v);

/** Returns the verifier's leeway in seconds, or 0 for a NULL @p v. */
long rtg_jwt_verifier_leeway(const struct rtg_jwt_verifier *v);

/**
 * Verifies @p token at time @p now. With L the verifier's leeway, the token
 * is expired when now >= exp + L (RFC 7519 4.1.4: "on or after" exp), and not
 * yet valid while now < nbf - L or now < iat - L. "exp" is required.
 * @param out set to the identity on success, NULL otherwise; free with
 *        rtg_identity_free()
 * @return RTG_OK, or the precise reason: RTG_ERR_TOO_LONG, RTG_ERR_MALFORMED
 *         (bad shape or JSON, duplicate member names in the header or the
 *         claims, or a "crit" header), RTG_ERR_ALG, RTG_ERR_BADSIG,
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
 * Signs a token. For tools and tests: no claim is added or checked here.
 * @param alg "HS256", "HS384", "HS512", "RS256", "ES256", ... (never "none")
 * @param key the HMAC secret, or a PEM private key for RS* / ES*
 * @param claims_json a JSON object with the claims, e.g. {"sub":"alice","exp":1700000000}
 * @param out set to the token, a malloc'd string the caller frees with free()
 * @return RTG_OK, RTG_ERR_INVAL (bad alg, key or JSON), RTG_ERR_NOMEM
 */
enum rtg_err rtg_jwt_sign(const char *alg, const unsigned char *key, size_t keylen,
	const char *claims_json, char **out);

#endif /* RTG_JWT_H */
