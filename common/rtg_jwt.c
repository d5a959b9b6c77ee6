/*
 * rtg_jwt.c - JWT verification against a fixed allow-list, and signing for tools and tests.
 *
 * libjwt 1.10.2 only checks signatures: it takes the algorithm from the token and checks no
 * claim. So this file parses the header itself, refuses any algorithm outside the allow-list,
 * hands libjwt only the key of that algorithm's family, and then checks the claims. It never
 * fetches keys (jku, x5u and kid are ignored) and implements no "crit" extension.
 * A verifier is read-only once made: rtg_jwt_verify() may run from any thread.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "rtg_jwt.h"
#include "rtg_util.h"

#define KEY_FILE_MAX (64 * 1024)
/* NumericDates beyond year 9999 (or before -9999) are refused as nonsense. */
#define DATE_MAX 253402300799.0
/* RFC 7518 3.3: RSA keys for RS* must have at least 2048 bits. */
#define RSA_MIN_BITS 2048
#define B64URL_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

enum alg_family { FAM_HMAC, FAM_RSA, FAM_EC };

struct alg_info {
	const char *name;
	jwt_alg_t jwt;
	enum alg_family family;
	const EVP_MD *(*md)(void);
	size_t min_secret; /* HS*: the hash size, RFC 7518 3.2 */
	int curve_nid;     /* ES*: the one curve the algorithm is defined for */
};

static const struct alg_info algs[] = {
	{ "HS256", JWT_ALG_HS256, FAM_HMAC, EVP_sha256, 32, 0 },
	{ "HS384", JWT_ALG_HS384, FAM_HMAC, EVP_sha384, 48, 0 },
	{ "HS512", JWT_ALG_HS512, FAM_HMAC, EVP_sha512, 64, 0 },
	{ "RS256", JWT_ALG_RS256, FAM_RSA, EVP_sha256, 0, 0 },
	{ "RS384", JWT_ALG_RS384, FAM_RSA, EVP_sha384, 0, 0 },
	{ "RS512", JWT_ALG_RS512, FAM_RSA, EVP_sha512, 0, 0 },
	{ "ES256", JWT_ALG_ES256, FAM_EC, EVP_sha256, 0, NID_X9_62_prime256v1 },
	{ "ES384", JWT_ALG_ES384, FAM_EC, EVP_sha384, 0, NID_secp384r1 },
	{ "ES512", JWT_ALG_ES512, FAM_EC, EVP_sha512, 0, NID_secp521r1 },
};

struct rtg_jwt_verifier {
	unsigned char *secret; /* HS* secret, or NULL */
	size_t secret_len;
	unsigned char *pubkey; /* PEM text of the RS* / ES* public key, or NULL */
	size_t pubkey_len;
	int pkey_type; /* EVP_PKEY_RSA, EVP_PKEY_EC, or 0 without a public key */
	int curve_nid; /* the EC key's curve */
	unsigned int allowed; /* bit i set: algs[i] is allowed */
	char *issuer;
	char *audience;
	long leeway;
};

/* A token cut into its three segments, with the two JSON parts parsed. */
struct token {
	const char *seg[3];
	size_t len[3];
	cJSON *header;
	cJSON *claims;
	const struct alg_info *alg;
};

/* ==================== helpers: errors, names, base64url, JSON ==================== */

__attribute__((format(printf, 3, 4))) static void set_error(char *errbuf, size_t errlen, const char *fmt, ...)
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
static const struct alg_info *alg_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < RTG_ARRAY_SIZE(algs); i++) {
		if (strlen(algs[i].name) == len && memcmp(algs[i].name, name, len) == 0)
			return &algs[i];
	}
	return NULL;
}

static unsigned int alg_bit(const struct alg_info *a)
{
	return 1u << (unsigned int)(a - algs);
}

static int b64url_value(char c)
{
	const char *p = c ? strchr(B64URL_CHARS, c) : NULL;

	return p ? (int)(p - B64URL_CHARS) : -1;
}

/* Decodes s[0..len), which split_token() checked, into a malloc'd NUL-terminated buffer. */
static enum rtg_err b64url_decode(const char *s, size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char *buf;
	unsigned int acc = 0, bits = 0;
	size_t i, n = 0;

	*out = NULL;
	*outlen = 0;
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
static bool has_duplicate_names(const cJSON *obj)
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
	unsigned char *buf = NULL;
	size_t n;
	enum rtg_err rc;
	cJSON *json = NULL;

	*out = NULL;
	rc = b64url_decode(s, len, &buf, &n);
	if (rc != RTG_OK)
		return rc;
	rc = RTG_ERR_MALFORMED;
	if (memchr(buf, '\0', n))
		goto out;
	/* n + 1 takes in the NUL so that require_null_terminated can see the end. */
	json = cJSON_ParseWithLengthOpts((const char *)buf, n + 1, NULL, 1);
	if (!cJSON_IsObject(json) || has_duplicate_names(json)) {
		cJSON_Delete(json);
		goto out;
	}
	*out = json;
	rc = RTG_OK;
out:
	free(buf);
	return rc;
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
static enum rtg_err load_public_key(struct rtg_jwt_verifier *v, const char *path, char *errbuf,
	size_t errlen)
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
static enum rtg_err parse_alg_list(struct rtg_jwt_verifier *v, const char *list, char *errbuf,
	size_t errlen)
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
		a = alg_find(p, n);
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
		v->allowed |= alg_bit(a);
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
		v->allowed |= alg_bit(alg_find("HS256", 5));
	if (v->pkey_type == EVP_PKEY_RSA)
		v->allowed |= alg_bit(alg_find("RS256", 5));
	for (i = 0; v->pkey_type == EVP_PKEY_EC && i < RTG_ARRAY_SIZE(algs); i++) {
		if (algs[i].family == FAM_EC && algs[i].curve_nid == v->curve_nid)
			v->allowed |= alg_bit(&algs[i]);
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
		if (!(v->allowed & alg_bit(a)))
			continue;
		if (a->family == FAM_HMAC && !v->secret) {
			set_error(errbuf, errlen, "%s needs a secret_file", a->name);
		} else if (a->family == FAM_HMAC && v->secret_len < a->min_secret) {
			set_error(errbuf, errlen, "%s needs a secret of at least %zu bytes, not %zu",
				a->name, a->min_secret, v->secret_len);
		} else if (a->family == FAM_RSA && v->pkey_type != EVP_PKEY_RSA) {
			set_error(errbuf, errlen, "%s needs an RSA public_key_file", a->name);
		} else if (a->family == FAM_EC && v->pkey_type != EVP_PKEY_EC) {
			set_error(errbuf, errlen, "%s needs an EC public_key_file", a->name);
		} else if (a->family == FAM_EC && v->curve_nid != a->curve_nid) {
			set_error(errbuf, errlen, "%s needs an EC key on curve %s", a->name,
				OBJ_nid2sn(a->curve_nid));
		} else {
			continue;
		}
		return RTG_ERR_INVAL;
	}
	return RTG_OK;
}

static enum rtg_err copy_claim_config(struct rtg_jwt_verifier *v, const struct rtg_jwt_config *cfg,
	char *errbuf, size_t errlen)
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
 * "typ", if present, must be "JWT"; "crit" names extensions we do not implement (RFC 7515
 * 4.1.11 says to refuse the token then). */
static enum rtg_err check_header(const struct rtg_jwt_verifier *v, struct token *t)
{
	const cJSON *alg, *typ;
	enum rtg_err rc;

	rc = parse_json_segment(t->seg[0], t->len[0], &t->header);
	if (rc != RTG_OK)
		return rc;
	alg = cJSON_GetObjectItemCaseSensitive(t->header, "alg");
	typ = cJSON_GetObjectItemCaseSensitive(t->header, "typ");
	if (!cJSON_IsString(alg) || cJSON_HasObjectItem(t->header, "crit"))
		return RTG_ERR_MALFORMED;
	if (typ && (!cJSON_IsString(typ) || strcasecmp(typ->valuestring, "JWT") != 0))
		return RTG_ERR_MALFORMED;
	t->alg = alg_find(alg->valuestring, strlen(alg->valuestring));
	if (!t->alg || !(v->allowed & alg_bit(t->alg)))
		return RTG_ERR_ALG;
	return RTG_OK;
}

/* libjwt 1.10.2 compares HMACs with strcmp(), whose running time tells an attacker how much
 * of a forged signature is right. So HS* signatures are first compared here in constant
 * time, and libjwt only ever sees HMACs that already match. */
static enum rtg_err check_hmac(const struct rtg_jwt_verifier *v, const char *token,
	const struct token *t)
{
	unsigned char mac[EVP_MAX_MD_SIZE], *sig = NULL;
	unsigned int maclen = 0;
	size_t siglen = 0;
	enum rtg_err rc;

	if (!HMAC(t->alg->md(), v->secret, (int)v->secret_len, (const unsigned char *)token,
		    t->len[0] + 1 + t->len[1], mac, &maclen))
		return RTG_ERR_BADSIG;
	rc = b64url_decode(t->seg[2], t->len[2], &sig, &siglen);
	if (rc != RTG_OK)
		return rc;
	if (siglen != maclen || CRYPTO_memcmp(sig, mac, maclen) != 0)
		rc = RTG_ERR_BADSIG;
	free(sig);
	return rc;
}

/* Checks the signature with the key of the algorithm's family only: an HS* token is never
 * checked against the public key, which defeats HS/RS confusion. */
static enum rtg_err check_signature(const struct rtg_jwt_verifier *v, const char *token,
	const struct token *t)
{
	const unsigned char *key = v->pubkey;
	size_t keylen = v->pubkey_len;
	jwt_t *jwt = NULL;
	enum rtg_err rc;
	int err;

	if (t->alg->family == FAM_HMAC) {
		rc = check_hmac(v, token, t);
		if (rc != RTG_OK)
			return rc;
		key = v->secret;
		keylen = v->secret_len;
	}
	err = jwt_decode(&jwt, token, key, (int)keylen);
	if (err)
		return err == ENOMEM ? RTG_ERR_NOMEM : RTG_ERR_BADSIG;
	/* Our header parse and libjwt's must agree on the algorithm it used. */
	rc = jwt_get_alg(jwt) == t->alg->jwt ? RTG_OK : RTG_ERR_ALG;
	jwt_free(jwt);
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
static enum rtg_err check_times(const struct rtg_jwt_verifier *v, const cJSON *claims,
	time_t now, double *exp, double *iat)
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
		cJSON_ArrayForEach(item, aud) {
			if (cJSON_IsString(item) && strcmp(item->valuestring, v->audience) == 0)
				return RTG_OK;
		}
	}
	return RTG_ERR_AUDIENCE;
}

/* Copies the "roles" array of strings, if any, into id. */
static enum rtg_err copy_roles(const cJSON *claims, struct rtg_identity *id)
{
	const cJSON *roles = cJSON_GetObjectItemCaseSensitive(claims, "roles");
	const cJSON *item;
	int n;

	if (!roles)
		return RTG_OK;
	if (!cJSON_IsArray(roles))
		return RTG_ERR_CLAIM;
	cJSON_ArrayForEach(item, roles) {
		if (!cJSON_IsString(item))
			return RTG_ERR_CLAIM;
	}
	n = cJSON_GetArraySize(roles);
	if (n == 0)
		return RTG_OK;
	id->roles = calloc((size_t)n, sizeof(*id->roles));
	if (!id->roles)
		return RTG_ERR_NOMEM;
	cJSON_ArrayForEach(item, roles) {
		id->roles[id->nroles] = strdup(item->valuestring);
		if (!id->roles[id->nroles])
			return RTG_ERR_NOMEM;
		id->nroles++;
	}
	return RTG_OK;
}

/* Checks the claims and builds the identity from them. */
static enum rtg_err check_claims(const struct rtg_jwt_verifier *v, const cJSON *claims,
	time_t now, struct rtg_identity **out)
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
	/* Truncation rounds a fractional exp down: the identity expires no later than the token. */
	id->exp = (time_t)exp;
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

/*
 * The checks run in a fixed order and the first failure is returned: length, shape, header
 * and algorithm, payload JSON, signature (libjwt, with the family's key), then claims.
 * Nothing about the token is trusted before its signature is checked except "alg", and that
 * only to look it up in the allow-list.
 */
enum rtg_err rtg_jwt_verify(const struct rtg_jwt_verifier *v, const char *token, time_t now,
	struct rtg_identity **out)
{
	struct token t = { 0 };
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
		rc = check_signature(v, token, &t);
	if (rc == RTG_OK)
		rc = check_claims(v, t.claims, now, out);
	cJSON_Delete(t.claims);
	cJSON_Delete(t.header);
	return rc;
}

/* ==================== key files and signing ==================== */

enum rtg_err rtg_jwt_read_key_file(const char *path, bool is_secret, unsigned char **buf,
	size_t *len)
{
	unsigned char *data = NULL;
	FILE *fp = NULL;
	size_t n = 0;
	enum rtg_err rc = RTG_ERR_IO;
	int saved_errno = 0;

	if (buf)
		*buf = NULL;
	if (len)
		*len = 0;
	if (!path || !buf || !len)
		return RTG_ERR_INVAL;
	fp = fopen(path, "rb");
	if (!fp)
		return RTG_ERR_IO;
	data = malloc(KEY_FILE_MAX + 2);
	if (!data) {
		rc = RTG_ERR_NOMEM;
		goto error;
	}
	/* Read one byte more than allowed, to tell a full-size file from an oversized one. */
	n = fread(data, 1, KEY_FILE_MAX + 1, fp);
	if (ferror(fp)) {
		saved_errno = errno ? errno : EIO;
		goto error;
	}
	rc = RTG_ERR_INVAL;
	if (is_secret && n && data[n - 1] == '\n')
		n -= (n >= 2 && data[n - 2] == '\r') ? 2 : 1;
	if (n == 0 || n > KEY_FILE_MAX)
		goto error;
	data[n] = '\0';
	fclose(fp);
	*buf = data;
	*len = n;
	return RTG_OK;

error:
	if (data)
		OPENSSL_cleanse(data, KEY_FILE_MAX + 2);
	free(data);
	fclose(fp);
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
	a = alg_find(alg, strlen(alg));
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
