/*
 * config.c - loads struct adapter_config from defaults, a mosquitto.conf-style
 * file (-c FILE) and --key-name flags, all driven by one table of options (a
 * light version of Redis' standardConfig): the table gives each key its type,
 * field, default, bounds and help, and the same setter serves all three sources.
 *
 * It does not open the files the options name (the components that use them
 * report their own errors), only the -c file itself. Main thread, at start-up.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

enum opt_type {
	OPT_STRING, /* char *, strdup'ed */
	OPT_INT, /* int within [min, max] */
	OPT_ENUM, /* char *, one of choices */
};

#define OPT_REQUIRED 1u

struct option_def {
	const char *name;
	enum opt_type type;
	size_t offset;
	const char *def; /* the default as text, parsed by the same setter; NULL: unset */
	long min, max;
	const char *const *choices; /* OPT_ENUM: NULL-terminated */
	unsigned flags;
	const char *arg; /* the value's name in the usage text */
	const char *help;
	/* OPT_STRING: checks the value; 0, or -1 with the reason in why */
	int (*check)(const char *value, char *why, size_t whylen);
};

/* mqtt_brokers is checked as it is set, so a bad list is reported with its file and line. */
static int check_brokers(const char *value, char *why, size_t whylen)
{
	return rtg_broker_list_parse(value, NULL, NULL, why, whylen) == RTG_OK ? 0 : -1;
}

static const char *const stats_access_choices[] = {
	"ops-or-loopback", "ops", "loopback", "any", NULL};
static const char *const event_loop_choices[] = {"epoll", "poll", NULL};
static const char *const log_level_choices[] = {"error", "warn", "notice", "info", "debug", NULL};

/* One line per macro reads better than what clang-format makes of "#n" in braces. */
/* clang-format off */
#define OFF(n) offsetof(struct adapter_config, n)
#define STR(n, d, a, h) {#n, OPT_STRING, OFF(n), d, 0, 0, NULL, 0, a, h, NULL}
#define REQ(n, a, h) {#n, OPT_STRING, OFF(n), NULL, 0, 0, NULL, OPT_REQUIRED, a, h, NULL}
#define INT(n, d, lo, hi, a, h) {#n, OPT_INT, OFF(n), d, lo, hi, NULL, 0, a, h, NULL}
#define ENUM(n, d, c, h) {#n, OPT_ENUM, OFF(n), d, 0, 0, c, 0, "WORD", h, NULL}
#define CHECKED(n, a, h, f) {#n, OPT_STRING, OFF(n), NULL, 0, 0, NULL, 0, a, h, f}
/* clang-format on */

static const struct option_def options[] = {
	STR(http_host, "127.0.0.1", "HOST", "address the HTTP/WebSocket listener binds to"),
	INT(http_port, "8000", 0, 65535, "PORT", "listener port; 0: any free port"),
	STR(static_dir, "./static", "DIR", "files served at / (dashboard, JS client)"),
	STR(profiles_file, "profiles/gateway.conf", "FILE",
		"endpoint profiles: every path served (docs/profiles.md)"),
	INT(reuse_port, "0", 0, 1, "0|1", "1: SO_REUSEPORT, several adapters on one port"),
	STR(tls_cert_file, NULL, "FILE", "PEM certificate: serve https:// and wss://"),
	STR(tls_key_file, NULL, "FILE", "PEM private key of tls_cert_file"),
	STR(allowed_origins, NULL, "LIST",
		"origins allowed (comma list; default same origin; *: any)"),
	STR(mqtt_host, "127.0.0.1", "HOST", "MQTT broker host"),
	INT(mqtt_port, "1883", 1, 65535, "PORT", "MQTT broker port"),
	CHECKED(mqtt_brokers, "LIST", "brokers in order, host[:port],...; not with mqtt_host/port",
		check_brokers),
	INT(mqtt_failback, "0", 0, 86400, "SECONDS",
		"on another broker this long: try the first again; 0: stay"),
	INT(mqtt_keepalive, "5", 5, 3600, "SECONDS", "MQTT keepalive: a silent broker is lost"),
	INT(mqtt_connect_timeout, "5", 1, 300, "SECONDS",
		"connect to CONNACK, else the next broker"),
	REQ(mqtt_token_file, "FILE", "this adapter's JWT (role gateway), the MQTT password"),
	STR(mqtt_ca_file, NULL, "FILE",
		"CA (PEM): MQTT over TLS, the broker's certificate checked"),
	STR(mqtt_client_id, NULL, "ID", "MQTT client id (default rtg-adapter-<unique>)"),
	INT(mqtt_session_expiry, "0", 0, 2147483647, "SECONDS",
		"broker keeps subscriptions and queued messages this long; 0: clean"),
	STR(jwt_secret_file, NULL, "FILE", "HS256/384/512 secret; this or a public key"),
	STR(jwt_public_key_file, NULL, "FILE", "RS256/ES256 public key (PEM)"),
	STR(jwt_jwks_file, NULL, "FILE",
		"JWKS of keys picked by the token's kid (SIGHUP re-reads)"),
	STR(jwt_algorithms, NULL, "LIST", "allow-list, e.g. HS256,RS256 (default: from the keys)"),
	STR(jwt_issuer, NULL, "ISS", "required \"iss\" (default: not checked)"),
	STR(jwt_audience, NULL, "AUD", "required in \"aud\" (default: not checked)"),
	INT(jwt_leeway, "30", 0, 3600, "SECONDS", "clock skew allowed on exp/nbf/iat"),
	REQ(acl_file, "FILE", "ACL file, the one the broker plugin reads"),
	INT(history_size, "100", 0, 100000, "N", "messages kept per topic for replay"),
	INT(history_max_topics, "10000", 1, 10000000, "N", "topics with history kept"),
	STR(history_file, NULL, "FILE", "history saved at shutdown and loaded at start-up"),
	INT(auth_timeout, "10", 1, 300, "SECONDS", "time allowed to send {\"type\":\"auth\"}"),
	INT(sse_heartbeat, "15", 1, 3600, "SECONDS", "interval of SSE heartbeat comments"),
	INT(max_message_size, "65536", 256, 16777216, "BYTES", "largest inbound frame or body"),
	INT(queue_max_messages, "1024", 1, 1000000, "N", "send queue per connection"),
	INT(queue_max_bytes, "4194304", 1024, 1073741824, "BYTES", "send queue per connection"),
	INT(slow_consumer_timeout, "10", 1, 3600, "SECONDS", "full queue this long: close 1013"),
	INT(socket_sndbuf, "65536", 0, 16777216, "BYTES", "SO_SNDBUF per client; 0: kernel's"),
	INT(rate_limit, "10", 1, 100000, "N", "messages per second per connection"),
	INT(rate_burst, "100", 1, 1000000, "N", "messages allowed in a burst"),
	INT(rate_limit_close, "50", 1, 1000000, "N", "refused messages in a row: close 1008"),
	INT(max_subscriptions, "200", 1, 100000, "N", "subscriptions per connection"),
	INT(max_connections_per_user, "50", 1, 1000000, "N", "connections per user"),
	INT(max_connections, "19000", 1, 10000000, "N", "WebSocket + SSE connections"),
	INT(idle_timeout, "60", 2, 86400, "SECONDS", "close a WebSocket silent this long"),
	INT(calc_timeout, "120", 1, 86400, "SECONDS", "fail a calculation silent this long"),
	ENUM(stats_access, "ops-or-loopback", stats_access_choices, "who may read /api/stats"),
	INT(stats_interval, "10", 0, 86400, "SECONDS", "publish system/stats this often; 0: never"),
	ENUM(log_level, "notice", log_level_choices, "log verbosity"),
	ENUM(event_loop, "epoll", event_loop_choices, "epoll (libev) or poll (lws' own loop)"),
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

/* ==== Setting one option ====================================================================== */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static char **str_field(struct adapter_config *cfg, const struct option_def *o)
{
	return (char **)((char *)cfg + o->offset);
}

static char *const *cstr_field(const struct adapter_config *cfg, const struct option_def *o)
{
	return (char *const *)((const char *)cfg + o->offset);
}

static int *int_field(struct adapter_config *cfg, const struct option_def *o)
{
	return (int *)((char *)cfg + o->offset);
}

/* Finds an option by name; in flags, '-' stands for '_'. Returns NULL if unknown. */
static const struct option_def *find_option(const char *name, size_t len)
{
	size_t i, j;

	for (i = 0; i < NOPTIONS; i++) {
		const char *n = options[i].name;

		for (j = 0; j < len && n[j]; j++) {
			if (n[j] != name[j] && !(n[j] == '_' && name[j] == '-'))
				break;
		}
		if (j == len && n[j] == '\0')
			return &options[i];
	}
	return NULL;
}

/* Writes the option's flag form ("http-port") into @buf. */
static void flag_name(const struct option_def *o, char *buf, size_t len)
{
	size_t i;

	for (i = 0; o->name[i] && i + 1 < len; i++)
		buf[i] = o->name[i] == '_' ? '-' : o->name[i];
	buf[i] = '\0';
}

static int parse_int(const struct option_def *o, const char *value, int *out, const char *where,
	char *err, size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (end == value || *end != '\0' || isspace((unsigned char)*value)) {
		seterr(err, errlen, "%s: '%s' is not a number", where, value);
		return -1;
	}
	if (errno == ERANGE || v < o->min || v > o->max) {
		seterr(err, errlen, "%s: %s is out of range %ld-%ld", where, value, o->min, o->max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int check_choice(
	const struct option_def *o, const char *value, const char *where, char *err, size_t errlen)
{
	char list[256] = "";
	size_t i, used = 0;

	for (i = 0; o->choices[i]; i++) {
		if (!strcmp(o->choices[i], value))
			return 0;
	}
	for (i = 0; o->choices[i] && used < sizeof(list); i++) {
		int n = snprintf(
			list + used, sizeof(list) - used, "%s%s", i ? ", " : "", o->choices[i]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
	seterr(err, errlen, "%s: '%s' is not one of %s", where, value, list);
	return -1;
}

/*
 * Sets option @o from its text @value, the one path for defaults, file lines
 * and flags. @where prefixes errors: "file:line: key" or "--key-name".
 * Returns 0 or -1.
 */
static int set_option(struct adapter_config *cfg, const struct option_def *o, const char *value,
	const char *where, char *err, size_t errlen)
{
	char *copy, why[256];

	if (value[0] == '\0') {
		seterr(err, errlen, "%s: missing value", where);
		return -1;
	}
	if (o->type == OPT_INT)
		return parse_int(o, value, int_field(cfg, o), where, err, errlen);
	if (o->type == OPT_ENUM && check_choice(o, value, where, err, errlen))
		return -1;
	if (o->check && o->check(value, why, sizeof(why))) {
		seterr(err, errlen, "%s: %s", where, why);
		return -1;
	}
	copy = strdup(value);
	if (!copy) {
		seterr(err, errlen, "%s: out of memory", where);
		return -1;
	}
	free(*str_field(cfg, o));
	*str_field(cfg, o) = copy;
	return 0;
}

static int set_defaults(struct adapter_config *cfg, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++) {
		if (options[i].def &&
			set_option(cfg, &options[i], options[i].def, options[i].name, err, errlen))
			return -1;
	}
	return 0;
}

/* ==== The -c file ============================================================================= */

static char *trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/*
 * Applies one line of the file: "key value", the value being the rest of the
 * line trimmed. @seen holds the line each option was first set on (0: not yet),
 * since a key given twice is refused: mosquitto lets the later win, but here
 * that is almost always an edit gone wrong. Returns 0 or -1.
 */
static int apply_line(struct adapter_config *cfg, char *line, const char *path, int lineno,
	int *seen, char *err, size_t errlen)
{
	const struct option_def *o;
	char *key = trim(line), *value, where[PATH_MAX + 96];
	size_t keylen, idx;

	if (key[0] == '\0' || key[0] == '#')
		return 0;
	keylen = strcspn(key, " \t");
	value = trim(key + keylen);
	key[keylen] = '\0';
	o = find_option(key, keylen);
	if (!o || strchr(key, '-')) {
		seterr(err, errlen, "%s:%d: unknown option '%s'", path, lineno, key);
		return -1;
	}
	idx = (size_t)(o - options);
	if (seen[idx]) {
		seterr(err, errlen, "%s:%d: duplicate option '%s' (first on line %d)", path, lineno,
			key, seen[idx]);
		return -1;
	}
	seen[idx] = lineno;
	snprintf(where, sizeof(where), "%s:%d: %s", path, lineno, o->name);
	return set_option(cfg, o, value, where, err, errlen);
}

/* seen[i]: the line option i was set on (0: not in the file), for duplicates and validate(). */
static int load_file(
	struct adapter_config *cfg, const char *path, int *seen, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = -1;
	FILE *fp;

	fp = fopen(path, "r");
	if (!fp) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	errno = 0;
	while (getline(&line, &cap, fp) != -1) {
		lineno++;
		if (apply_line(cfg, line, path, lineno, seen, err, errlen))
			goto out;
	}
	/* getline() returns -1 at the end and on errors alike (EISDIR, ENOMEM). */
	if (ferror(fp) || errno == ENOMEM) {
		seterr(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
		goto out;
	}
	rc = 0;
out:
	free(line);
	fclose(fp);
	return rc;
}

/* ==== Flags =================================================================================== */

struct flag_value {
	const struct option_def *opt;
	const char *flag; /* argv text up to '=', for messages */
	size_t flaglen;
	const char *value;
};

struct argv_scan {
	const char *config_file;
	bool help;
	struct flag_value *vals; /* argc entries at most */
	size_t nvals;
};

/*
 * Reads one "--key-name value" or "--key-name=value" at argv[*i] into @v,
 * advancing *i past a separate value. Returns 0 or -1.
 */
static int scan_long(int argc, char **argv, int *i, struct flag_value *v, char *err, size_t errlen)
{
	const char *arg = argv[*i], *name = arg + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);

	v->flag = arg;
	v->flaglen = (size_t)(name - arg) + len;
	v->opt = find_option(name, len);
	if (!v->opt || memchr(name, '_', len)) {
		seterr(err, errlen, "%.*s: unknown option", (int)v->flaglen, arg);
		return -1;
	}
	if (eq) {
		v->value = eq + 1;
	} else if (*i + 1 < argc) {
		v->value = argv[++*i];
	} else {
		seterr(err, errlen, "%s: missing value", arg);
		return -1;
	}
	return 0;
}

/*
 * First pass over argv: checks its shape (unknown flags, missing values), finds
 * -c and -h, and keeps the --key values to apply after the file, so that flags
 * win over the file wherever -c appears. Returns 0 or -1.
 */
static int scan_argv(int argc, char **argv, struct argv_scan *s, char *err, size_t errlen)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			s->help = true;
			return 0;
		}
		if (!strcmp(arg, "-c")) {
			if (i + 1 >= argc) {
				seterr(err, errlen, "-c: missing value");
				return -1;
			}
			if (s->config_file) {
				seterr(err, errlen, "-c: given more than once");
				return -1;
			}
			s->config_file = argv[++i];
		} else if (!strncmp(arg, "--", 2) && arg[2]) {
			if (scan_long(argc, argv, &i, &s->vals[s->nvals], err, errlen))
				return -1;
			s->nvals++;
		} else {
			seterr(err, errlen, "%s: %s", arg,
				arg[0] == '-' ? "unknown option" : "unexpected argument");
			return -1;
		}
	}
	return 0;
}

/* Applies the flags after the file; given[i] becomes non-zero for each option set. */
static int apply_flags(
	struct adapter_config *cfg, const struct argv_scan *s, int *given, char *err, size_t errlen)
{
	char where[128];
	size_t i;

	for (i = 0; i < s->nvals; i++) {
		const struct flag_value *v = &s->vals[i];

		snprintf(where, sizeof(where), "%.*s", (int)v->flaglen, v->flag);
		if (set_option(cfg, v->opt, v->value, where, err, errlen))
			return -1;
		given[v->opt - options] = -1;
	}
	return 0;
}

/* ==== Validation and the public API =========================================================== */

/* Was the option called name set in the file or by a flag? */
static bool was_given(const int *given, const char *name)
{
	return given[find_option(name, strlen(name)) - options] != 0;
}

static int validate(struct adapter_config *cfg, const int *given, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++) {
		const struct option_def *o = &options[i];
		char dashed[64];

		if (!(o->flags & OPT_REQUIRED) || *cstr_field(cfg, o))
			continue;
		flag_name(o, dashed, sizeof(dashed));
		seterr(err, errlen, "%s is required (set it in the config file or with --%s)",
			o->name, dashed);
		return -1;
	}
	if (!cfg->tls_cert_file != !cfg->tls_key_file) {
		seterr(err, errlen,
			"tls_cert_file and tls_key_file go together: set both or neither");
		return -1;
	}
	if (cfg->mqtt_session_expiry && !cfg->mqtt_client_id) {
		seterr(err, errlen,
			"mqtt_session_expiry needs a fixed mqtt_client_id (the broker keeps the "
			"session under it)");
		return -1;
	}
	if (cfg->socket_sndbuf && cfg->socket_sndbuf < 4096) {
		seterr(err, errlen, "socket_sndbuf: %d is below 4096 (0 keeps the kernel's)",
			cfg->socket_sndbuf);
		return -1;
	}
	if (config__resolve_brokers(cfg,
		    was_given(given, "mqtt_host") || was_given(given, "mqtt_port"), err, errlen))
		return -1;
	if (!cfg->jwt_secret_file && !cfg->jwt_public_key_file && !cfg->jwt_jwks_file) {
		seterr(err, errlen,
			"jwt_secret_file, jwt_public_key_file or jwt_jwks_file is required (set one "
			"in the config file or with --jwt-secret-file / --jwt-public-key-file / "
			"--jwt-jwks-file)");
		return -1;
	}
	return 0;
}

int config__load(
	struct adapter_config *cfg, int argc, char **argv, bool *help, char *err, size_t errlen)
{
	struct argv_scan scan = {0};
	int given[NOPTIONS] = {0};
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	if (help)
		*help = false;
	seterr(err, errlen, "%s", "");
	scan.vals = calloc(argc > 0 ? (size_t)argc : 1, sizeof(*scan.vals));
	if (!scan.vals) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if (scan_argv(argc, argv, &scan, err, errlen) || set_defaults(cfg, err, errlen))
		goto out;
	if (scan.help) {
		config__usage(stdout, argc > 0 ? argv[0] : "rtg-adapter");
		if (help)
			*help = true;
		rc = 0;
		goto out;
	}
	if (scan.config_file && load_file(cfg, scan.config_file, given, err, errlen))
		goto out;
	if (apply_flags(cfg, &scan, given, err, errlen) || validate(cfg, given, err, errlen))
		goto out;
	rc = 0;
out:
	free(scan.vals);
	if (rc)
		config__cleanup(cfg);
	return rc;
}

void config__cleanup(struct adapter_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < NOPTIONS; i++) {
		if (options[i].type == OPT_INT)
			continue;
		free(*str_field(cfg, &options[i]));
		*str_field(cfg, &options[i]) = NULL;
	}
	rtg_broker_list_free(cfg->brokers, cfg->nbrokers);
	cfg->brokers = NULL;
	cfg->nbrokers = 0;
}

static void usage_line(FILE *fp, const struct option_def *o)
{
	char flag[64];
	size_t i;

	flag_name(o, flag, sizeof(flag));
	fprintf(fp, "  --%s %-*s %s", flag, (int)(27 - strlen(flag)), o->arg, o->help);
	if (o->flags & OPT_REQUIRED)
		fprintf(fp, " (required)");
	else if (o->type == OPT_INT)
		fprintf(fp, " (default %s, %ld-%ld)", o->def, o->min, o->max);
	else if (o->def)
		fprintf(fp, " (default %s)", o->def);
	if (o->type == OPT_ENUM) {
		fprintf(fp, "\n%33sone of:", "");
		for (i = 0; o->choices[i]; i++)
			fprintf(fp, " %s", o->choices[i]);
	}
	fputc('\n', fp);
}

void config__usage(FILE *fp, const char *argv0)
{
	size_t i;

	fprintf(fp, "Usage: %s [-c FILE] [--key-name VALUE | --key-name=VALUE]...\n\n", argv0);
	fprintf(fp,
		"  -c FILE                        \"key value\" lines as in mosquitto.conf, keys\n"
		"                                 as below with '_' for '-' (flags win over it)\n"
		"  -h, --help                     print this help and exit\n\n");
	for (i = 0; i < NOPTIONS; i++)
		usage_line(fp, &options[i]);
}
