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

/* The errors of one load, all of them (as the ACL parser does): "where: reason" lines in the
 * caller's buffer, '\n' between them; lines that do not fit are left out (the message then
 * ends with "..."), but still counted in n. */
struct errs {
	char *buf;
	size_t len, used;
	bool full; /* a line did not fit: the message ends with "..." */
	int n;
};

static void seterr(struct errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void seterr(struct errs *e, const char *fmt, ...)
{
	char line[PATH_MAX + 512];
	va_list ap;
	int n;

	e->n++;
	if (!e->buf || e->full || e->used + 1 >= e->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* whole lines only: one that does not fit ends the message with "..." (the first one is
	 * cut instead, so there is always a reason) */
	if (e->used && e->used + 1 + strlen(line) >= e->len) {
		e->full = true;
		if (e->used + 4 < e->len) {
			memcpy(e->buf + e->used, "\n...", 5);
			e->used += 4;
		}
		return;
	}
	n = snprintf(e->buf + e->used, e->len - e->used, "%s%s", e->used ? "\n" : "", line);
	if (n > 0)
		e->used += (size_t)n;
	if (e->used >= e->len)
		e->used = e->len - 1;
}

static char **str_field(struct adapter_config *cfg, const struct option_def *o)
{
	return (char **)((char *)cfg + o->offset);
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

static int parse_int(
	const struct option_def *o, const char *value, int *out, const char *where, struct errs *e)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (end == value || *end != '\0' || isspace((unsigned char)*value)) {
		seterr(e, "%s: '%s' is not a number", where, value);
		return -1;
	}
	if (errno == ERANGE || v < o->min || v > o->max) {
		seterr(e, "%s: %s is out of range %ld-%ld", where, value, o->min, o->max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int check_choice(
	const struct option_def *o, const char *value, const char *where, struct errs *e)
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
	seterr(e, "%s: '%s' is not one of %s", where, value, list);
	return -1;
}

/*
 * Sets option @o from its text @value, the one path for defaults, file lines
 * and flags. @where prefixes errors: "file:line: key" or "--key-name".
 * Returns 0 or -1.
 */
static int set_option(struct adapter_config *cfg, const struct option_def *o, const char *value,
	const char *where, struct errs *e)
{
	char *copy, why[256];

	if (value[0] == '\0') {
		seterr(e, "%s: missing value", where);
		return -1;
	}
	if (o->type == OPT_INT)
		return parse_int(o, value, int_field(cfg, o), where, e);
	if (o->type == OPT_ENUM && check_choice(o, value, where, e))
		return -1;
	if (o->check && o->check(value, why, sizeof(why))) {
		seterr(e, "%s: %s", where, why);
		return -1;
	}
	copy = strdup(value);
	if (!copy) {
		seterr(e, "%s: out of memory", where);
		return -1;
	}
	free(*str_field(cfg, o));
	*str_field(cfg, o) = copy;
	return 0;
}

static int set_defaults(struct adapter_config *cfg, struct errs *e)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++) {
		if (options[i].def &&
			set_option(cfg, &options[i], options[i].def, options[i].name, e))
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

/* What one load has seen: the line each option was set on in the file (-1: by a flag, 0: not
 * set), which options had a bad value (validate() would only say it again), the errors. */
struct load {
	int given[NOPTIONS];
	bool bad[NOPTIONS];
	struct errs e;
};

/* Applies one line of the file: "key value", the value being the rest of the line trimmed. A
 * key given twice is refused: mosquitto lets the later win, but here that is almost always an
 * edit gone wrong. A bad line is reported, and the next read all the same. */
static void apply_line(
	struct adapter_config *cfg, char *line, const char *path, int lineno, struct load *l)
{
	const struct option_def *o;
	char *key = trim(line), *value, where[PATH_MAX + 96];
	size_t keylen, idx;

	if (key[0] == '\0' || key[0] == '#')
		return;
	keylen = strcspn(key, " \t");
	value = trim(key + keylen);
	key[keylen] = '\0';
	o = find_option(key, keylen);
	if (!o || strchr(key, '-')) {
		seterr(&l->e, "%s:%d: unknown option '%s'", path, lineno, key);
		return;
	}
	idx = (size_t)(o - options);
	if (l->given[idx]) {
		seterr(&l->e, "%s:%d: duplicate option '%s' (first on line %d)", path, lineno, key,
			l->given[idx]);
		return;
	}
	l->given[idx] = lineno;
	snprintf(where, sizeof(where), "%s:%d: %s", path, lineno, o->name);
	if (set_option(cfg, o, value, where, &l->e))
		l->bad[idx] = true;
}

/* Reads the -c file, every line of it whatever errors some have. */
static void load_file(struct adapter_config *cfg, const char *path, struct load *l)
{
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0;
	FILE *fp;

	fp = fopen(path, "r");
	if (!fp) {
		seterr(&l->e, "%s: %s", path, strerror(errno));
		return;
	}
	errno = 0;
	while (getline(&line, &cap, fp) != -1)
		apply_line(cfg, line, path, ++lineno, l);
	/* getline() returns -1 at the end and on errors alike (EISDIR, ENOMEM). */
	if (ferror(fp) || errno == ENOMEM)
		seterr(&l->e, "%s: %s", path, strerror(errno ? errno : EIO));
	free(line);
	fclose(fp);
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

/* Reads one "--key-name value" or "--key-name=value" at argv[*i] into @v, advancing *i past a
 * separate value, also an unknown key's (every key takes one). Returns 0 or -1 (reported). */
static int scan_long(int argc, char **argv, int *i, struct flag_value *v, struct errs *e)
{
	const char *arg = argv[*i], *name = arg + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);

	v->flag = arg;
	v->flaglen = (size_t)(name - arg) + len;
	v->opt = find_option(name, len);
	if (eq) {
		v->value = eq + 1;
	} else if (*i + 1 < argc && (v->opt || strncmp(argv[*i + 1], "--", 2))) {
		v->value = argv[++*i];
	} else if (v->opt) {
		seterr(e, "%s: missing value", arg);
		return -1;
	}
	if (!v->opt || memchr(name, '_', len)) {
		seterr(e, "%.*s: unknown option", (int)v->flaglen, arg);
		return -1;
	}
	return 0;
}

/* First pass over argv: checks its shape (unknown flags, missing values: all reported), finds
 * -c and -h (which ends the scan), and keeps the --key values to apply after the file, so that
 * flags win over the file wherever -c appears. */
static void scan_argv(int argc, char **argv, struct argv_scan *s, struct errs *e)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			s->help = true;
			return;
		}
		if (!strcmp(arg, "-c")) {
			if (i + 1 >= argc)
				seterr(e, "-c: missing value");
			else if (s->config_file)
				seterr(e, "-c: given more than once");
			else
				s->config_file = argv[i + 1];
			i++;
		} else if (!strncmp(arg, "--", 2) && arg[2]) {
			if (!scan_long(argc, argv, &i, &s->vals[s->nvals], e))
				s->nvals++;
		} else {
			seterr(e, "%s: %s", arg,
				arg[0] == '-' ? "unknown option" : "unexpected argument");
		}
	}
}

/* Applies the flags after the file, each one whatever the others did. */
static void apply_flags(struct adapter_config *cfg, const struct argv_scan *s, struct load *l)
{
	char where[128];
	size_t i, idx;

	for (i = 0; i < s->nvals; i++) {
		const struct flag_value *v = &s->vals[i];

		idx = (size_t)(v->opt - options);
		snprintf(where, sizeof(where), "%.*s", (int)v->flaglen, v->flag);
		/* the last flag wins, and so does its verdict */
		l->bad[idx] = set_option(cfg, v->opt, v->value, where, &l->e) != 0;
		l->given[idx] = -1;
	}
}

/* ==== Validation and the public API =========================================================== */

static size_t index_of(const char *name)
{
	return (size_t)(find_option(name, strlen(name)) - options);
}

/* Did the option called name have a bad value? validate() then leaves its rules alone. */
static bool bad(const struct load *l, const char *name)
{
	return l->bad[index_of(name)];
}

static void validate_required(struct adapter_config *cfg, struct load *l)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++) {
		const struct option_def *o = &options[i];
		char dashed[64];

		if (!(o->flags & OPT_REQUIRED) || *str_field(cfg, o) || l->bad[i])
			continue;
		flag_name(o, dashed, sizeof(dashed));
		seterr(&l->e, "%s is required (set it in the config file or with --%s)", o->name,
			dashed);
	}
}

/* The rules across options, each judged unless one of its options was bad already. */
static void validate(struct adapter_config *cfg, struct load *l)
{
	char why[512];

	validate_required(cfg, l);
	if (!cfg->tls_cert_file != !cfg->tls_key_file && !bad(l, "tls_cert_file") &&
		!bad(l, "tls_key_file"))
		seterr(&l->e, "tls_cert_file and tls_key_file go together: set both or neither");
	if (cfg->mqtt_session_expiry && !cfg->mqtt_client_id && !bad(l, "mqtt_session_expiry") &&
		!bad(l, "mqtt_client_id"))
		seterr(&l->e,
			"mqtt_session_expiry needs a fixed mqtt_client_id (the broker keeps "
			"the session under it)");
	if (cfg->socket_sndbuf && cfg->socket_sndbuf < 4096)
		seterr(&l->e, "socket_sndbuf: %d is below 4096 (0 keeps the kernel's)",
			cfg->socket_sndbuf);
	if (!bad(l, "mqtt_brokers") && !bad(l, "mqtt_host") && !bad(l, "mqtt_port") &&
		config__resolve_brokers(cfg,
			l->given[index_of("mqtt_host")] || l->given[index_of("mqtt_port")], why,
			sizeof(why)))
		seterr(&l->e, "%s", why);
	if (!cfg->jwt_secret_file && !cfg->jwt_public_key_file && !cfg->jwt_jwks_file &&
		!bad(l, "jwt_secret_file") && !bad(l, "jwt_public_key_file") &&
		!bad(l, "jwt_jwks_file"))
		seterr(&l->e,
			"jwt_secret_file, jwt_public_key_file or jwt_jwks_file is required "
			"(set one in the config file or with --jwt-secret-file / "
			"--jwt-public-key-file / --jwt-jwks-file)");
}

int config__load(
	struct adapter_config *cfg, int argc, char **argv, bool *help, char *err, size_t errlen)
{
	struct argv_scan scan = {0};
	struct load *l = calloc(1, sizeof(*l));
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	if (help)
		*help = false;
	if (err && errlen)
		err[0] = '\0';
	scan.vals = calloc(argc > 0 ? (size_t)argc : 1, sizeof(*scan.vals));
	if (!l || !scan.vals) {
		snprintf(err, err ? errlen : 0, "out of memory");
		goto out;
	}
	l->e = (struct errs){.buf = err, .len = err ? errlen : 0};
	scan_argv(argc, argv, &scan, &l->e);
	if (set_defaults(cfg, &l->e))
		goto out;
	if (scan.help && !l->e.n) {
		config__usage(stdout, argc > 0 ? argv[0] : "rtg-adapter");
		if (help)
			*help = true;
		rc = 0;
		goto out;
	}
	if (scan.config_file)
		load_file(cfg, scan.config_file, l);
	apply_flags(cfg, &scan, l);
	validate(cfg, l);
	rc = l->e.n ? -1 : 0;
out:
	free(scan.vals);
	free(l);
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
