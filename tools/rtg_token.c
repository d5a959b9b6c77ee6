/*
 * rtg_token.c - rtg-token, mints a JWT for ops and tests.
 *
 * Builds the claims (sub, iat, exp, and roles, iss, aud, nbf when asked) with cJSON, signs
 * them with rtg_jwt_sign_kid() (a "kid" header with --kid) and prints the token and a newline
 * on stdout. It refuses a key the verifiers would refuse (rtg_jwt_key_check(), their own rules:
 * a short secret, a small RSA key, a key of another algorithm), but checks no policy: a
 * negative --ttl mints an expired token on purpose, for tests. For key rotation it also prints a key's JWK (--jwk) and adds it to
 * or removes it from a JWKS file (--jwks-add, --jwks-remove; jwk.c).
 * Command-line handling follows mosquitto's client/sub_client.c. Single-threaded.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "jwk.h"
#include "rtg_jwt.h"
#include "rtg_util.h"

/* Bound for --ttl and --nbf-offset: 10 years, so that now + offset cannot overflow. */
#define OFFSET_MAX 315360000L

struct token_opts {
	const char *sub;
	const char *roles; /* comma list, or NULL for no "roles" claim */
	const char *secret_file;
	const char *key_file;
	const char *alg;
	const char *iss;
	const char *aud;
	const char *kid;
	const char *jwks_add; /* --jwks-add FILE */
	const char *jwks_remove; /* --jwks-remove FILE */
	bool jwk; /* --jwk: print the key's JWK instead of a token */
	bool alg_given;
	long ttl;
	long nbf_offset;
	bool has_nbf;
};

static void print_usage(void)
{
	printf("rtg-token mints a JSON Web Token for the realtime gateway and prints it.\n\n");
	printf("Usage: rtg-token --sub ID [--roles a,b] [--ttl SECONDS]\n");
	printf("                 {--secret-file FILE | --key-file PRIVATE.pem} [--alg ALG]\n");
	printf("                 [--iss ISSUER] [--aud AUDIENCE] [--nbf-offset SECONDS] [--kid ID]\n");
	printf("       rtg-token {--jwk | --jwks-add JWKS} --kid ID\n");
	printf("                 {--secret-file FILE | --key-file KEY.pem} [--alg ALG]\n");
	printf("       rtg-token --jwks-remove JWKS --kid ID\n");
	printf("       rtg-token --help\n\n");
	printf(" -s, --sub ID          the user id (\"sub\" claim); required\n");
	printf(" -r, --roles a,b       the \"roles\" claim; omitted when not given\n");
	printf(" -t, --ttl SECONDS     exp = now + SECONDS (default 3600); a negative value\n");
	printf("                       mints an already expired token, for tests\n");
	printf(" -S, --secret-file F   HMAC secret as text (one trailing newline is dropped),\n");
	printf("                       at least 32 bytes (HS384: 48, HS512: 64), as the\n");
	printf("                       verifiers require; make one with\n");
	printf("                       (umask 077 && openssl rand -hex 32 > F)\n");
	printf(" -k, --key-file F      PEM private key for RS256/384/512 (RSA, 2048 bits or\n");
	printf("                       more) or ES256/384/512 (EC on P-256, P-384, P-521):\n");
	printf("                       openssl genpkey -algorithm RSA -pkeyopt\n");
	printf("                       rsa_keygen_bits:2048 -out F, or -algorithm EC\n");
	printf("                       -pkeyopt ec_paramgen_curve:P-256 -out F\n");
	printf(" -a, --alg ALG         HS256 (default with --secret-file), HS384, HS512,\n");
	printf("                       RS256, RS384, RS512, ES256, ES384, ES512 (default\n");
	printf("                       with --key-file: RS256, or ES256/384/512 by the\n");
	printf("                       curve of an EC key)\n");
	printf(" -i, --iss ISSUER      the \"iss\" claim\n");
	printf(" -u, --aud AUDIENCE    the \"aud\" claim\n");
	printf(" -n, --nbf-offset S    nbf = now + S (may be negative)\n");
	printf(" -K, --kid ID          the key id: a \"kid\" header in the token; the JWK's kid\n");
	printf(" -J, --jwk             print the key's JWK (the public half of a PEM key; an\n");
	printf("                       HMAC secret as \"oct\", as secret as the file) and exit\n");
	printf(" -A, --jwks-add JWKS   add the key's JWK to the JWKS file (made if missing)\n");
	printf(" -R, --jwks-remove JWKS  remove the key named by --kid from the JWKS file\n");
	printf(" -h, --help            this text\n\n");
	printf("Exit status: 0 when the token (or JWK) is printed; 1 on a usage error, a\n");
	printf("missing or unreadable file, or a key the verifiers would refuse (said on\n");
	printf("stderr in one line, with how to make one that fits).\n");
}

/* Parses a whole decimal number of seconds within +-OFFSET_MAX. Returns false and says why
 * on stderr otherwise. */
static bool parse_seconds(const char *opt, const char *arg, long *out)
{
	char *end = NULL;
	long val;

	errno = 0;
	val = strtol(arg, &end, 10);
	if (errno || end == arg || *end != '\0' || val > OFFSET_MAX || val < -OFFSET_MAX) {
		fprintf(stderr, "rtg-token: %s: \"%s\" is not a number of seconds within +-%ld\n",
			opt, arg, OFFSET_MAX);
		return false;
	}
	*out = val;
	return true;
}

/* Returns 0 to go on, 1 after --help, -1 on a bad command line (already reported). */
static int parse_args(int argc, char *argv[], struct token_opts *o)
{
	static const struct option longopts[] = {
		{"sub", required_argument, NULL, 's'},
		{"roles", required_argument, NULL, 'r'},
		{"ttl", required_argument, NULL, 't'},
		{"secret-file", required_argument, NULL, 'S'},
		{"key-file", required_argument, NULL, 'k'},
		{"alg", required_argument, NULL, 'a'},
		{"iss", required_argument, NULL, 'i'},
		{"aud", required_argument, NULL, 'u'},
		{"nbf-offset", required_argument, NULL, 'n'},
		{"kid", required_argument, NULL, 'K'},
		{"jwk", no_argument, NULL, 'J'},
		{"jwks-add", required_argument, NULL, 'A'},
		{"jwks-remove", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "s:r:t:S:k:a:i:u:n:K:JA:R:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->sub = optarg;
			break;
		case 'r':
			o->roles = optarg;
			break;
		case 't':
			if (!parse_seconds("--ttl", optarg, &o->ttl))
				return -1;
			break;
		case 'S':
			o->secret_file = optarg;
			break;
		case 'k':
			o->key_file = optarg;
			break;
		case 'a':
			o->alg = optarg;
			o->alg_given = true;
			break;
		case 'K':
			o->kid = optarg;
			break;
		case 'J':
			o->jwk = true;
			break;
		case 'A':
			o->jwks_add = optarg;
			break;
		case 'R':
			o->jwks_remove = optarg;
			break;
		case 'i':
			o->iss = optarg;
			break;
		case 'u':
			o->aud = optarg;
			break;
		case 'n':
			if (!parse_seconds("--nbf-offset", optarg, &o->nbf_offset))
				return -1;
			o->has_nbf = true;
			break;
		case 'h':
			print_usage();
			return 1;
		default:
			return -1; /* getopt_long() has said what is wrong */
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rtg-token: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* Checks what getopt cannot: a sub (for a token), a kid (for a key), exactly one key, and an
 * algorithm of that key's family. */
static bool check_opts(struct token_opts *o)
{
	static const char *const hs[] = {"HS256", "HS384", "HS512"};
	static const char *const pk[] = {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"};
	const char *const *list = o->secret_file ? hs : pk;
	size_t i, n = o->secret_file ? RTG_ARRAY_SIZE(hs) : RTG_ARRAY_SIZE(pk);
	bool key_mode = o->jwk || o->jwks_add || o->jwks_remove;

	if ((o->jwk + !!o->jwks_add + !!o->jwks_remove) > 1) {
		fprintf(stderr, "rtg-token: give one of --jwk, --jwks-add and --jwks-remove\n");
		return false;
	}
	if (o->kid && (!o->kid[0] || strlen(o->kid) > RTG_JWT_KID_MAX)) {
		fprintf(stderr, "rtg-token: --kid must be 1 to %d bytes\n", RTG_JWT_KID_MAX);
		return false;
	}
	if (key_mode && !o->kid) {
		fprintf(stderr,
			"rtg-token: --kid is required with --jwk, --jwks-add, --jwks-remove\n");
		return false;
	}
	if (o->jwks_remove)
		return true;
	if (!key_mode && (!o->sub || !o->sub[0])) {
		fprintf(stderr, "rtg-token: --sub is required\n");
		return false;
	}
	if (!o->secret_file == !o->key_file) {
		fprintf(stderr, "rtg-token: give exactly one of --secret-file and --key-file\n");
		return false;
	}
	if (!o->alg)
		o->alg = o->secret_file ? "HS256" : "RS256";
	for (i = 0; i < n; i++) {
		if (strcmp(o->alg, list[i]) == 0)
			return true;
	}
	fprintf(stderr, "rtg-token: --alg %s: not an algorithm for %s\n", o->alg,
		o->secret_file ? "--secret-file (HS256, HS384, HS512)"
			       : "--key-file (RS256..RS512, ES256..ES512)");
	return false;
}

/* Adds the comma list of roles as a "roles" array. Returns false on an empty name or out of
 * memory (reported). */
static bool add_roles(cJSON *claims, const char *list)
{
	cJSON *roles = cJSON_AddArrayToObject(claims, "roles");
	const char *p = list;
	size_t n;
	char *name;

	if (!roles)
		goto nomem;
	for (;;) {
		p += strspn(p, " ");
		n = strcspn(p, ",");
		while (n && p[n - 1] == ' ')
			n--;
		if (n == 0) {
			fprintf(stderr, "rtg-token: --roles: empty role name in \"%s\"\n", list);
			return false;
		}
		name = strndup(p, n);
		if (!name || !cJSON_AddItemToArray(roles, cJSON_CreateString(name))) {
			free(name);
			goto nomem;
		}
		free(name);
		p += strcspn(p, ",");
		if (*p++ == '\0')
			return true;
	}
nomem:
	fprintf(stderr, "rtg-token: out of memory\n");
	return false;
}

/* Returns the claims as compact JSON (free with cJSON_free()), or NULL (reported). */
static char *build_claims(const struct token_opts *o, time_t now)
{
	cJSON *claims = cJSON_CreateObject();
	char *json = NULL;
	bool ok;

	ok = claims && cJSON_AddStringToObject(claims, "sub", o->sub) &&
		cJSON_AddNumberToObject(claims, "iat", (double)now) &&
		cJSON_AddNumberToObject(claims, "exp", (double)now + (double)o->ttl);
	if (ok && o->has_nbf)
		ok = cJSON_AddNumberToObject(claims, "nbf", (double)now + (double)o->nbf_offset);
	if (ok && o->iss)
		ok = cJSON_AddStringToObject(claims, "iss", o->iss);
	if (ok && o->aud)
		ok = cJSON_AddStringToObject(claims, "aud", o->aud);
	if (!ok)
		fprintf(stderr, "rtg-token: out of memory\n");
	if (ok && o->roles)
		ok = add_roles(claims, o->roles);
	if (ok)
		json = cJSON_PrintUnformatted(claims);
	if (ok && !json)
		fprintf(stderr, "rtg-token: out of memory\n");
	cJSON_Delete(claims);
	return json;
}

/* Says, after the reason, how to make the key file that is missing or unfit. */
static void how_to_make(const struct token_opts *o)
{
	if (o->secret_file)
		fprintf(stderr, "; make one with: (umask 077 && openssl rand -hex 32 > %s)\n",
			o->secret_file);
	else
		fprintf(stderr,
			"; make one with: openssl genpkey -algorithm RSA -pkeyopt "
			"rsa_keygen_bits:2048 -out %s (RS*), or -algorithm EC -pkeyopt "
			"ec_paramgen_curve:P-256 (ES256)\n",
			o->key_file);
}

/*
 * Checks the key by the verifier's rules (rtg_jwt_key_check(), common/): what
 * it refuses is not signed. With --key-file and no --alg, the algorithm is the
 * key's: RS256 for RSA, ES256/384/512 by the EC key's curve. Returns false
 * (reported) if no algorithm fits.
 */
static bool check_key(struct token_opts *o, const unsigned char *key, size_t keylen)
{
	static const char *const by_key[] = {"RS256", "ES256", "ES384", "ES512"};
	char why[256] = "", other[256];
	enum rtg_err rc;
	size_t i;

	rc = rtg_jwt_key_check(o->alg, key, keylen, o->secret_file != NULL, why, sizeof(why));
	if (rc == RTG_OK)
		return true;
	for (i = 0; !o->alg_given && o->key_file && i < RTG_ARRAY_SIZE(by_key); i++) {
		if (rtg_jwt_key_check(by_key[i], key, keylen, false, other, sizeof(other)) ==
			RTG_OK) {
			o->alg = by_key[i];
			return true;
		}
	}
	fprintf(stderr, "rtg-token: %s: %s", o->secret_file ? o->secret_file : o->key_file, why);
	if (o->secret_file || rc != RTG_ERR_INVAL) /* not for a good key of another algorithm */
		how_to_make(o);
	else
		fputc('\n', stderr);
	return false;
}

/* Reads the secret or private key file and checks it. Returns false (reported) on error. */
static bool read_key(struct token_opts *o, unsigned char **key, size_t *keylen)
{
	const char *path = o->secret_file ? o->secret_file : o->key_file;
	enum rtg_err rc = rtg_jwt_read_key_file(path, o->secret_file != NULL, key, keylen);

	if (rc == RTG_ERR_IO) {
		fprintf(stderr, "rtg-token: %s: %s", path, strerror(errno));
		how_to_make(o);
	} else if (rc == RTG_ERR_INVAL) {
		fprintf(stderr, "rtg-token: %s: empty or larger than 64 KiB\n", path);
	} else if (rc != RTG_OK) {
		fprintf(stderr, "rtg-token: %s: %s\n", path, rtg_strerror(rc));
	}
	return rc == RTG_OK && check_key(o, *key, *keylen);
}

/* --jwk, --jwks-add, --jwks-remove. Returns EXIT_SUCCESS or EXIT_FAILURE (reported). */
static int key_command(struct token_opts *o)
{
	unsigned char *key = NULL;
	size_t keylen = 0;
	cJSON *jwk = NULL;
	char *text = NULL;
	const char *err = NULL, *file = o->jwks_add ? o->jwks_add : o->jwks_remove;

	if (o->jwks_remove) {
		err = jwk__jwks_remove(o->jwks_remove, o->kid);
		goto out;
	}
	if (!read_key(o, &key, &keylen)) {
		free(key);
		return EXIT_FAILURE;
	}
	file = o->secret_file ? o->secret_file : o->key_file;
	err = jwk__from_key(
		key, keylen, o->secret_file != NULL, o->kid, o->alg_given ? o->alg : NULL, &jwk);
	if (!err && o->jwks_add) {
		file = o->jwks_add;
		err = jwk__jwks_add(o->jwks_add, jwk); /* takes jwk */
		jwk = NULL;
	} else if (!err) {
		text = cJSON_PrintUnformatted(jwk);
		if (!text || printf("%s\n", text) < 0 || fflush(stdout) != 0)
			err = "cannot print the JWK";
	}
out:
	if (err)
		fprintf(stderr, "rtg-token: %s: %s\n", file, err);
	cJSON_free(text);
	cJSON_Delete(jwk);
	free(key);
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char *argv[])
{
	struct token_opts o = {.ttl = 3600};
	unsigned char *key = NULL;
	size_t keylen = 0;
	char *claims = NULL, *token = NULL;
	int ret = EXIT_FAILURE;
	int args = parse_args(argc, argv, &o);
	enum rtg_err rc;

	if (args > 0)
		return EXIT_SUCCESS;
	if (args < 0 || !check_opts(&o)) {
		fprintf(stderr, "Use 'rtg-token --help' to see usage.\n");
		return EXIT_FAILURE;
	}
	if (o.jwk || o.jwks_add || o.jwks_remove)
		return key_command(&o);
	if (!read_key(&o, &key, &keylen))
		goto out;
	claims = build_claims(&o, time(NULL));
	if (!claims)
		goto out;
	rc = rtg_jwt_sign_kid(o.alg, o.kid, key, keylen, claims, &token);
	if (rc != RTG_OK) {
		fprintf(stderr, "rtg-token: cannot sign with %s and %s: %s\n", o.alg,
			o.secret_file ? o.secret_file : o.key_file,
			rc == RTG_ERR_INVAL ? "not a PEM private key of that type"
					    : rtg_strerror(rc));
		goto out;
	}
	printf("%s\n", token);
	if (fflush(stdout) == 0)
		ret = EXIT_SUCCESS;
out:
	free(token);
	cJSON_free(claims);
	free(key);
	return ret;
}
