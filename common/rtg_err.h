/*
 * rtg_err.h - the error codes every fallible function in common/ returns.
 *
 * Components translate these to foreign codes (MOSQ_ERR_*, lws return values,
 * exit statuses) only at their boundary, in one function each.
 */
#ifndef RTG_ERR_H
#define RTG_ERR_H

enum rtg_err {
	RTG_OK = 0,
	RTG_ERR_INVAL, /* bad argument or configuration */
	RTG_ERR_NOMEM, /* out of memory */
	RTG_ERR_IO, /* a file could not be read */
	RTG_ERR_PARSE, /* a file (ACL, config, key) has a broken line or content */
	RTG_ERR_MALFORMED, /* token is not a well-formed JWT */
	RTG_ERR_TOO_LONG, /* token exceeds RTG_JWT_MAX_LEN */
	RTG_ERR_ALG, /* token algorithm not in the allow-list, or no key for it */
	RTG_ERR_BADSIG, /* signature does not verify */
	RTG_ERR_EXPIRED, /* exp is in the past (beyond the leeway) */
	RTG_ERR_NOT_YET_VALID, /* nbf or iat is in the future (beyond the leeway) */
	RTG_ERR_ISSUER, /* iss does not match the configured issuer */
	RTG_ERR_AUDIENCE, /* aud does not contain the configured audience */
	RTG_ERR_CLAIM, /* a required claim is missing or has the wrong type */
	RTG_ERR_KID, /* the token's kid names no key of the set */
	RTG_ERR_KEY_ALG, /* the key the token's kid names does not fit its alg */
	RTG_ERR_DENIED, /* the ACL refuses the access */
	RTG_ERR__COUNT
};

/**
 * Returns a short, static, human-readable description of @p err
 * (e.g. "token expired"). Never NULL; unknown codes give "unknown error".
 */
const char *rtg_strerror(enum rtg_err err);

#endif /* RTG_ERR_H */
