/*
 * jwk.h - rtg-token's JWK output and JWKS file editing (jwk.c).
 *
 * Errors are returned as static messages (NULL on success) for rtg-token to print.
 */
#ifndef RTG_TOOLS_JWK_H
#define RTG_TOOLS_JWK_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/**
 * Makes the JWK of a key: "kid", "use":"sig", "alg" when given, and "kty" with the key's
 * members: "oct" and "k" for a secret, "RSA" "n" "e" or "EC" "crv" "x" "y" for the public half
 * of a PEM (private or public) key.
 * @param out set to the JWK, which the caller frees with cJSON_Delete(), or NULL on error
 * @return NULL, or why not (a static string)
 */
const char *jwk__from_key(const unsigned char *key, size_t len, bool is_secret, const char *kid,
	const char *alg, cJSON **out);

/**
 * Adds @p jwk (taken, freed in every case) to the JWKS file @p path, made if missing; a key
 * with the same kid already there is an error. The file is replaced atomically.
 * @return NULL, or why not (a static string)
 */
const char *jwk__jwks_add(const char *path, cJSON *jwk);

/**
 * Removes the key named @p kid from the JWKS file @p path (atomically).
 * @return NULL, or why not (a static string); a kid not in the set is an error
 */
const char *jwk__jwks_remove(const char *path, const char *kid);

#endif /* RTG_TOOLS_JWK_H */
