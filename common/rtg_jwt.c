/*
 * rtg_jwt.c - JWT verification against a verifier's fixed allow-list.
 *
 * libjwt 1.10.2 only checks signatures: it takes the algorithm from the token and checks no
 * claim. So this file parses the header itself, refuses any algorithm outside the allow-list,
 * picks the key ("kid" names one of the set; without it, each key that fits the algorithm is
 * tried), hands libjwt only a key that fits the algorithm, and then checks the claims. It never
 * fetches keys (jku, x5u and jwk are ignored) and refuses tokens that name "crit" extensions.
 * Making verifiers, reading key files and signing are in rtg_jwt_config.c. A verifier is
 * read-only once made: rtg_jwt_verify() may run from any thread.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rtg_jwt.h"
#include "rtg_jwt_int.h"

/* NumericDates beyond year 9999 (or before -9999) are refused as nonsense. */
#define DATE_MAX 253402300799.0
#define B64URL_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* A token cut into its three segments, with the two JSON parts parsed. */
struct token {
	const char *seg[3];
	size_t len[3];
	cJSON *header;
	cJSON *claims;
	const struct alg_info *alg;
	const char *kid; /* the header's "kid" (in header), or NULL */
	const struct jwt_key *key; /* the key that verified the signature */
};

/* ==================== helpers: base64url, JSON ==================== */

static int b64url_value(char c)
{
	const char *p = c ? strchr(B64URL_CHARS, c) : NULL;

	return p ? (int)(p - B64URL_CHARS) : -1;
}

/* Decodes s[0..len) into a malloc'd NUL-terminated buffer; split_token() has already checked
 * the segments of a token, a JWK's members are checked here. */
enum rtg_err jwt__b64url_decode(const char *s, size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char *buf;
	unsigned int acc = 0, bits = 0;
	size_t i, n = 0;

	*out = NULL;
	*outlen = 0;
	if (len % 4 == 1 || strspn(s, B64URL_CHARS) < len)
		return RTG_ERR_MALFORMED;
	buf = malloc(len / 4 * 3 + 3);
	if (!buf)
		return RTG_ERR_NOMEM;
	for (i = 0; i < len; i++) {
		acc = ((acc << 6) | (unsigned int)b64url_value(s[i])) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
		}
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return RTG_OK;
}

/* Returns true if an object has two members of the same name. cJSON would read the first and
 * libjwt's jansson the last, so such a header could make the two disagree on "alg". */
bool jwt__has_duplicate_names(const cJSON *obj)
{
	const cJSON *a, *b;

	for (a = obj->child; a; a = a->next) {
		for (b = a->next; b; b = b->next) {
			if (a->string && b->string && strcmp(a->string, b->string) == 0)
				return true;
		}
	}
	return false;
}

/* Decodes one base64url segment and parses it as a JSON object: no embedded NUL, no trailing
 * bytes, no duplicate member names. */
static enum rtg_err parse_json_segment(const char *s, size_t len, cJSON **out)
{
	unsigned char *buf;
	size_t n;
	enum rtg_err rc = jwt__b64url_decode(s, len, &buf, &n);

	*out = NULL;
	if (rc != RTG_OK)
		return rc;
	/* n + 1 takes in the NUL so that require_null_terminated can see the end. */
	if (!memchr(buf, '\0', n))
		*out = cJSON_ParseWithLengthOpts((const char *)buf, n + 1, NULL, 1);
	free(buf);
	if (cJSON_IsObject(*out) && !jwt__has_duplicate_names(*out))
		return RTG_OK;
	cJSON_Delete(*out);
	*out = NULL;
	return RTG_ERR_MALFORMED;
}

/* ==================== verification ==================== */

/* Cuts the token into exactly three non-empty segments of base64url characters, unpadded
 * (so never of length 1 mod 4), separated by two dots. */
static enum rtg_err split_token(const char *token, struct token *t)
{
	const char *p = token;
	int i;

	for (i = 0; i < 3; i++) {
		t->seg[i] = p;
		t->len[i] = strspn(p, B64URL_CHARS);
		p += t->len[i];
		if (!t->len[i] || t->len[i] % 4 == 1 || *p != (i < 2 ? '.' : '\0'))
			return RTG_ERR_MALFORMED;
		p++;
	}
	return RTG_OK;
}

/* Parses the header and picks the algorithm: it must be named in the allow-list exactly.
 * "typ", if present, must be "JWT"; "kid", if present, a string; "crit" names extensions we
 * do not implement (RFC 7515 4.1.11 says to refuse the token then). */
static enum rtg_err check_header(const struct rtg_jwt_verifier *v, struct token *t)
{
	const cJSON *alg, *typ, *kid;
	enum rtg_err rc;

	rc = parse_json_segment(t->seg[0], t->len[0], &t->header);
	if (rc != RTG_OK)
		return rc;
	alg = cJSON_GetObjectItemCaseSensitive(t->header, "alg");
	typ = cJSON_GetObjectItemCaseSensitive(t->header, "typ");
	kid = cJSON_GetObjectItemCaseSensitive(t->header, "kid");
	if (!cJSON_IsString(alg) || cJSON_HasObjectItem(t->header, "crit"))
		return RTG_ERR_MALFORMED;
	if (kid && !cJSON_IsString(kid))
		return RTG_ERR_MALFORMED;
	t->kid = kid ? kid->valuestring : NULL;
	if (typ && (!cJSON_IsString(typ) || strcasecmp(typ->valuestring, "JWT") != 0))
		return RTG_ERR_MALFORMED;
	t->alg = jwt__alg_find(alg->valuestring, strlen(alg->valuestring));
	if (!t->alg || !(v->allowed & jwt__alg_bit(t->alg)))
		return RTG_ERR_ALG;
	return RTG_OK;
}

/* libjwt 1.10.2 compares HMACs with strcmp(), whose running time tells an attacker how much
 * of a forged signature is right. So HS* signatures are first compared here in constant
 * time, and libjwt only ever sees HMACs that already match. */
static enum rtg_err check_hmac(const struct jwt_key *k, const char *token, const struct token *t)
{
	unsigned char mac[EVP_MAX_MD_SIZE], *sig = NULL;
	unsigned int maclen = 0;
	size_t siglen = 0;
	enum rtg_err rc;

	if (!HMAC(t->alg->md(), k->material, (int)k->len, (const unsigned char *)token,
		    t->len[0] + 1 + t->len[1], mac, &maclen))
		return RTG_ERR_BADSIG;
	rc = jwt__b64url_decode(t->seg[2], t->len[2], &sig, &siglen);
	if (rc != RTG_OK)
		return rc;
	if (siglen != maclen || CRYPTO_memcmp(sig, mac, maclen) != 0)
		rc = RTG_ERR_BADSIG;
	free(sig);
	return rc;
}

/* Checks the signature with key k, which fits the algorithm: an HS* token is never checked
 * against a public key, which defeats HS/RS confusion. */
static enum rtg_err check_signature(
	const struct jwt_key *k, const char *token, const struct token *t)
{
	jwt_t *jwt = NULL;
	enum rtg_err rc;
	int err;

	if (t->alg->family == FAM_HMAC) {
		rc = check_hmac(k, token, t);
		if (rc != RTG_OK)
			return rc;
	}
	err = jwt_decode(&jwt, token, k->material, (int)k->len);
	if (err) {
		/* A failed OpenSSL verification leaves errors on the thread's queue; the broker's
		 * TLS code (SSL_get_error) reads that queue, so none may be left behind. */
		ERR_clear_error();
		return err == ENOMEM ? RTG_ERR_NOMEM : RTG_ERR_BADSIG;
	}
	/* Our header parse and libjwt's must agree on the algorithm it used. */
	rc = jwt_get_alg(jwt) == t->alg->jwt ? RTG_OK : RTG_ERR_ALG;
	jwt_free(jwt);
	return rc;
}

/*
 * Picks the key and checks the signature with it. When the set names its keys, a token's
 * "kid" must name one, and that key must fit the algorithm. A token without "kid" (or any
 * token, when no key has a kid: the single-key options ignore it, as they always did) is
 * tried against each key that fits its algorithm, in the order of the set; the first that
 * verifies it is the token's key.
 */
static enum rtg_err check_key_and_signature(
	const struct rtg_jwt_verifier *v, const char *token, struct token *t)
{
	const struct jwt_key *k;
	enum rtg_err rc = RTG_ERR_ALG; /* no key fits: check_keys() makes it impossible */
	size_t i;

	if (t->kid && v->named) {
		k = jwt__key_by_kid(v, t->kid);
		if (!k)
			return RTG_ERR_KID;
		if (!jwt__key_fits(k, t->alg))
			return RTG_ERR_KEY_ALG;
		rc = check_signature(k, token, t);
		t->key = rc == RTG_OK ? k : NULL;
		return rc;
	}
	for (i = 0; i < v->nkeys; i++) {
		if (!jwt__key_fits(&v->keys[i], t->alg))
			continue;
		rc = check_signature(&v->keys[i], token, t);
		if (rc == RTG_OK)
			t->key = &v->keys[i];
		if (rc == RTG_OK || rc == RTG_ERR_NOMEM)
			return rc;
	}
	return rc;
}

/* Reads an optional NumericDate claim into *val, NAN when absent. Returns false if present
 * but not a JSON number within +-year 9999 (which also refuses NaN and infinities). */
static bool get_date(const cJSON *claims, const char *name, double *val)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(claims, name);

	*val = item ? item->valuedouble : NAN;
	return !item || (cJSON_IsNumber(item) && fabs(item->valuedouble) <= DATE_MAX);
}

/* Time checks, with the leeway: expired once now >= exp + leeway (RFC 7519 4.1.4: the token
 * must not be accepted "on or after" exp), not yet valid while now < nbf - leeway or
 * now < iat - leeway. Compared as doubles, so nothing overflows; NAN (absent) never compares
 * true, and exp must be present. */
static enum rtg_err check_times(
	const struct rtg_jwt_verifier *v, const cJSON *claims, time_t now, double *exp, double *iat)
{
	double nbf, t = (double)now, lw = (double)v->leeway;

	if (!get_date(claims, "exp", exp) || isnan(*exp) || !get_date(claims, "nbf", &nbf) ||
		!get_date(claims, "iat", iat))
		return RTG_ERR_CLAIM;
	if (t >= *exp + lw)
		return RTG_ERR_EXPIRED;
	if (nbf > t + lw || *iat > t + lw)
		return RTG_ERR_NOT_YET_VALID;
	return RTG_OK;
}

/* "iss" must equal the configured issuer; "aud" must equal the configured audience or be an
 * array holding it. Checked only when configured. */
static enum rtg_err check_iss_aud(const struct rtg_jwt_verifier *v, const cJSON *claims)
{
	const cJSON *iss = cJSON_GetObjectItemCaseSensitive(claims, "iss");
	const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
	const cJSON *item;

	if (v->issuer && (!cJSON_IsString(iss) || strcmp(iss->valuestring, v->issuer) != 0))
		return RTG_ERR_ISSUER;
	if (!v->audience)
		return RTG_OK;
	if (cJSON_IsString(aud))
		return strcmp(aud->valuestring, v->audience) == 0 ? RTG_OK : RTG_ERR_AUDIENCE;
	if (cJSON_IsArray(aud)) {
		for (item = aud->child; item; item = item->next) {
			if (cJSON_IsString(item) && strcmp(item->valuestring, v->audience) == 0)
				return RTG_OK;
		}
	}
	return RTG_ERR_AUDIENCE;
}

/* Copies the "roles" claim, if present, into id: it must be an array of strings. */
static enum rtg_err copy_roles(const cJSON *claims, struct rtg_identity *id)
{
	const cJSON *roles = cJSON_GetObjectItemCaseSensitive(claims, "roles");
	const cJSON *item;
	size_t n = 0;

	if (roles && !cJSON_IsArray(roles))
		return RTG_ERR_CLAIM;
	for (item = roles ? roles->child : NULL; item; item = item->next) {
		if (!cJSON_IsString(item))
			return RTG_ERR_CLAIM;
		n++;
	}
	if (n && !(id->roles = calloc(n, sizeof(*id->roles))))
		return RTG_ERR_NOMEM;
	for (item = roles ? roles->child : NULL; item; item = item->next) {
		id->roles[id->nroles] = strdup(item->valuestring);
		if (!id->roles[id->nroles])
			return RTG_ERR_NOMEM;
		id->nroles++;
	}
	return RTG_OK;
}

/* Checks the claims and builds the identity from them. */
static enum rtg_err check_claims(const struct rtg_jwt_verifier *v, const cJSON *claims, time_t now,
	struct rtg_identity **out)
{
	const cJSON *sub = cJSON_GetObjectItemCaseSensitive(claims, "sub");
	struct rtg_identity *id = NULL;
	double exp = 0, iat = 0;
	enum rtg_err rc;

	if (!cJSON_IsString(sub) || !sub->valuestring[0])
		return RTG_ERR_CLAIM;
	rc = check_times(v, claims, now, &exp, &iat);
	if (rc == RTG_OK)
		rc = check_iss_aud(v, claims);
	if (rc != RTG_OK)
		return rc;
	id = calloc(1, sizeof(*id));
	if (!id)
		return RTG_ERR_NOMEM;
	/* A fractional exp is rounded down (floor() without libm): the identity must expire no
	 * later than the token. */
	id->exp = (time_t)exp;
	if ((double)id->exp > exp)
		id->exp--;
	id->iat = isnan(iat) ? 0 : (time_t)iat;
	id->sub = strdup(sub->valuestring);
	rc = id->sub ? copy_roles(claims, id) : RTG_ERR_NOMEM;
	if (rc != RTG_OK) {
		rtg_identity_free(id);
		return rc;
	}
	*out = id;
	return RTG_OK;
}

/* Records in the identity which key verified it (see rtg_jwt_key_present()). */
static enum rtg_err note_key(struct rtg_identity *id, const struct token *t)
{
	snprintf(id->alg, sizeof(id->alg), "%s", t->alg->name);
	memcpy(id->key_fp, t->key->fp, sizeof(id->key_fp));
	if (t->kid && !(id->kid = strdup(t->kid)))
		return RTG_ERR_NOMEM;
	return RTG_OK;
}

/*
 * The checks run in a fixed order and the first failure is returned: length, shape, header
 * and algorithm, payload JSON, key and signature (libjwt, with a key that fits the
 * algorithm), then claims.
 * Nothing about the token is trusted before its signature is checked except "alg", and that
 * only to look it up in the allow-list.
 */
enum rtg_err rtg_jwt_verify(
	const struct rtg_jwt_verifier *v, const char *token, time_t now, struct rtg_identity **out)
{
	struct token t = {0};
	enum rtg_err rc;

	if (out)
		*out = NULL;
	if (!v || !token || !out)
		return RTG_ERR_INVAL;
	if (strnlen(token, RTG_JWT_MAX_LEN + 1) > RTG_JWT_MAX_LEN)
		return RTG_ERR_TOO_LONG;
	rc = split_token(token, &t);
	if (rc == RTG_OK)
		rc = check_header(v, &t);
	if (rc == RTG_OK)
		rc = parse_json_segment(t.seg[1], t.len[1], &t.claims);
	if (rc == RTG_OK)
		rc = check_key_and_signature(v, token, &t);
	if (rc == RTG_OK)
		rc = check_claims(v, t.claims, now, out);
	if (rc == RTG_OK)
		rc = note_key(*out, &t);
	if (rc != RTG_OK) {
		rtg_identity_free(*out);
		*out = NULL;
	}
	cJSON_Delete(t.claims);
	cJSON_Delete(t.header);
	return rc;
}

/* ==================== the key behind a live identity ==================== */

time_t rtg_jwt_end_time(const struct rtg_jwt_verifier *v, const struct rtg_identity *id)
{
	if (!v || !id)
		return 0;
	return id->exp + (time_t)v->leeway;
}

/* The same choice check_key_and_signature() would make for the token again. */
bool rtg_jwt_key_present(const struct rtg_jwt_verifier *v, const struct rtg_identity *id)
{
	const struct alg_info *a;
	const struct jwt_key *k;
	size_t i;

	if (!v || !id)
		return false;
	a = jwt__alg_find(id->alg, strlen(id->alg));
	if (!a || !(v->allowed & jwt__alg_bit(a)))
		return false;
	if (id->kid && v->named) {
		k = jwt__key_by_kid(v, id->kid);
		return k && jwt__key_fits(k, a) &&
			memcmp(k->fp, id->key_fp, sizeof(id->key_fp)) == 0;
	}
	for (i = 0; i < v->nkeys; i++) {
		k = &v->keys[i];
		if (jwt__key_fits(k, a) && memcmp(k->fp, id->key_fp, sizeof(id->key_fp)) == 0)
			return true;
	}
	return false;
}
