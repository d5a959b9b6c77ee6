/*
 * fuzz_jwt.c - libFuzzer target for token verification (common/rtg_jwt.c)
 * with HS*, RS256 and ES256 verifiers, one of them checking iss/aud.
 *
 * Input byte 0 picks the mode. Even: the rest is a token, verified as it is
 * by every verifier (shape, base64url, header JSON, alg allow-list,
 * signatures). Odd: the rest is "<header JSON>\0<claims JSON>" (or only the
 * claims, under an HS256 header), which the harness signs with the fixture
 * secret, so the fuzzer's claims get past the signature and reach the
 * claim checks (exp, nbf, iat, iss, aud, sub, roles). Byte 0 'J' (even, so
 * taken from the token mode): the rest is a JWKS file's text, read into a key
 * set by jwt__jwks_parse() (common/rtg_jwks.c: cJSON, base64url, OpenSSL key
 * building). Besides crashes it checks that an accepted identity is well
 * formed and that a parsed set's keys are complete. One thread.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz_util.h"
#include "rtg_jwt.h"
#include "rtg_jwt_int.h"

/* A fixed clock, so that a saved input replays the same way. */
#define NOW ((time_t)2000000000)

enum { V_HS, V_RS, V_ES, V_STRICT, NVERIFIERS };

static struct rtg_jwt_verifier *verifiers[NVERIFIERS];
static unsigned char *secret;
static size_t secret_len;

static struct rtg_jwt_verifier *make(const struct rtg_jwt_config *cfg)
{
	struct rtg_jwt_verifier *v = NULL;
	char err[256];

	if (rtg_jwt_verifier_new(&v, cfg, err, sizeof(err)) != RTG_OK) {
		fprintf(stderr, "fuzz_jwt: verifier: %s\n", err);
		abort();
	}
	return v;
}

static void setup(void)
{
	const char *hs = SRC_PATH("tests/fixtures/hs_secret.txt");
	struct rtg_jwt_config hs_cfg = {
		.secret_file = hs, .algorithms = "HS256,HS384,HS512", .leeway = -1};
	struct rtg_jwt_config rs_cfg = {
		.public_key_file = SRC_PATH("tests/fixtures/rsa_public.pem"), .leeway = -1};
	struct rtg_jwt_config es_cfg = {
		.public_key_file = SRC_PATH("tests/fixtures/ec_public.pem"), .leeway = -1};
	struct rtg_jwt_config strict_cfg = {.secret_file = hs,
		.algorithms = "HS256",
		.issuer = "https://auth.example.com",
		.audience = "rtg",
		.leeway = 0};

	verifiers[V_HS] = make(&hs_cfg);
	verifiers[V_RS] = make(&rs_cfg);
	verifiers[V_ES] = make(&es_cfg);
	verifiers[V_STRICT] = make(&strict_cfg);
	if (rtg_jwt_read_key_file(hs, true, &secret, &secret_len) != RTG_OK)
		abort();
}

static void check_identity(const struct rtg_identity *id)
{
	struct rtg_identity *copy;
	size_t i;

	FUZZ_ASSERT(id->sub && id->sub[0]);
	FUZZ_ASSERT(id->exp + 30 > NOW); /* not expired, leeway included */
	FUZZ_ASSERT((id->nroles == 0) == (id->roles == NULL));
	for (i = 0; i < id->nroles; i++)
		FUZZ_ASSERT(id->roles[i] != NULL);
	copy = rtg_identity_dup(id);
	FUZZ_ASSERT(copy && !strcmp(copy->sub, id->sub) && copy->nroles == id->nroles);
	rtg_identity_free(copy);
}

static void verify(int which, const char *token)
{
	struct rtg_identity *id = (struct rtg_identity *)1;
	enum rtg_err rc = rtg_jwt_verify(verifiers[which], token, NOW, &id);

	FUZZ_ASSERT((rc == RTG_OK) == (id != NULL));
	if (id)
		check_identity(id);
	rtg_identity_free(id);
}

/* Unpadded base64url of n bytes into out (room for 4 * (n + 2) / 3 + 1). */
static size_t b64url(const unsigned char *in, size_t n, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = abc[(v >> 6) & 63];
		out[o++] = abc[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = abc[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

/* Signs header.claims with HS256 and the fixture secret; returns a malloc'd token. */
static char *sign_hs256(const uint8_t *hdr, size_t hlen, const uint8_t *claims, size_t clen)
{
	char *tok = malloc(2 * (hlen + clen) + 128); /* base64 is 4/3 */
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t n;

	if (!tok)
		abort();
	n = b64url(hdr, hlen, tok);
	tok[n++] = '.';
	n += b64url(claims, clen, tok + n);
	if (!HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)tok, n, mac,
		    &maclen))
		abort();
	tok[n++] = '.';
	b64url(mac, maclen, tok + n);
	return tok;
}

/* Reads text as a JWKS into a fresh key set and checks what it made; every key is freed. */
static void parse_jwks(const uint8_t *text, size_t len)
{
	struct rtg_jwt_verifier *v = calloc(1, sizeof(*v));
	char err[512];
	size_t i;

	if (!v)
		abort();
	if (jwt__jwks_parse(v, (const char *)text, len, "fuzz", err, sizeof(err)) == RTG_OK)
		FUZZ_ASSERT(v->nkeys > 0 && v->named);
	for (i = 0; i < v->nkeys; i++) {
		FUZZ_ASSERT(v->keys[i].kid && v->keys[i].material && v->keys[i].len);
		FUZZ_ASSERT(!v->keys[i].alg || jwt__key_fits(&v->keys[i], v->keys[i].alg));
	}
	rtg_jwt_verifier_free(v); /* frees the keys it holds, also after an error */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char hs256[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	const uint8_t *rest = data + 1, *nul;
	size_t rlen = size ? size - 1 : 0;
	char *token;
	int i;

	if (!verifiers[0])
		setup();
	if (!size || rlen > RTG_JWT_MAX_LEN + 16)
		return 0;
	if (data[0] == 'J') {
		parse_jwks(rest, rlen);
		return 0;
	}
	if (!(data[0] & 1)) {
		token = fuzz_strndup(rest, rlen);
		for (i = 0; i < NVERIFIERS; i++)
			verify(i, token);
	} else {
		nul = memchr(rest, '\0', rlen);
		if (nul)
			token = sign_hs256(rest, (size_t)(nul - rest), nul + 1,
				rlen - (size_t)(nul + 1 - rest));
		else
			token = sign_hs256((const uint8_t *)hs256, sizeof(hs256) - 1, rest, rlen);
		verify(V_HS, token);
		verify(V_STRICT, token);
	}
	free(token);
	return 0;
}
