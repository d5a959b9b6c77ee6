/*
 * rtg_jwt_int.h - internals shared by rtg_jwt.c (verification) and rtg_jwt_config.c
 * (verifier construction, key files, signing).
 *
 * Private: not part of the public API, installed nowhere, included by those two files only.
 * Code outside them uses rtg_jwt.h. The algorithm table itself lives in rtg_jwt_config.c and
 * is reached through jwt__alg_find(); everything here is read-only, safe from any thread.
 */
#ifndef RTG_JWT_INT_H
#define RTG_JWT_INT_H

#include <stddef.h>

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

struct rtg_jwt_verifier {
	unsigned char *secret; /* HS* secret, or NULL */
	size_t secret_len;
	unsigned char *pubkey; /* PEM text of the RS* / ES* public key, or NULL */
	size_t pubkey_len;
	int pkey_type; /* EVP_PKEY_RSA, EVP_PKEY_EC, or 0 without a public key */
	int curve_nid; /* the EC key's curve */
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

#endif /* RTG_JWT_INT_H */
