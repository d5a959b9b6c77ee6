/*
 * sim_common.c - the plumbing every data simulator shares (see sim_common.h), except the
 * MQTT client, which is sim_mqtt.c's.
 *
 * The command line (getopt_long over the common options plus the program's own, in the
 * manner of mosquitto's client/sub_client.c), the PRNG, signals, clocks, fixed-rate
 * schedules and timestamps. Pure C library: no libmosquitto, no cJSON, no data model.
 * Main thread only, except the signal handler, which only sets a flag.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim_common.h"
#include "rtg_util.h"

#define SIM_MAX_OPTS 40
#define SIM_COUNT_MAX 1000000000000L
#define SIM_SLEEP_SLICE_NS (200 * 1000000LL)
/* The schedule folds its event count into its base this often, so k * period stays exact. */
#define SIM_RATE_REBASE (1u << 20)

static const char *prog_name = "rtg-sim";
static volatile sig_atomic_t stop_requested;
/* the broker list sim__parse_args() made, freed by sim__args_free() */
static struct sim_brokers *parsed_brokers;

void sim__set_prog(const char *name)
{
	prog_name = name;
}

const char *sim__prog(void)
{
	return prog_name;
}

/* ---- numbers and lists ------------------------------------------------------------------- */

int sim__parse_long(const char *opt, const char *arg, long min, long max, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || isspace((unsigned char)arg[0]) || v < min || v > max) {
		fprintf(stderr, "%s: %s: \"%s\" is not a whole number from %ld to %ld\n", prog_name,
			opt, arg, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int sim__parse_double(const char *opt, const char *arg, double min, double max, double *out)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || isspace((unsigned char)arg[0]) || !isfinite(v) ||
		v < min || v > max) {
		fprintf(stderr, "%s: %s: \"%s\" is not a number from %g to %g\n", prog_name, opt,
			arg, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int sim__parse_u64(const char *opt, const char *arg, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	errno = 0;
	/* strtoull() would accept "-1" as 2^64-1: insist on a digit first. */
	v = isdigit((unsigned char)arg[0]) ? strtoull(arg, &end, 10) : 0;
	if (!isdigit((unsigned char)arg[0]) || errno || *end) {
		fprintf(stderr, "%s: %s: \"%s\" is not a whole number from 0 to %" PRIu64 "\n",
			prog_name, opt, arg, UINT64_MAX);
		return -1;
	}
	*out = v;
	return 0;
}

/* Returns 0 if name can be one MQTT topic level here, -1 after saying why not. */
static int check_name(const char *opt, const char *name)
{
	size_t len = strlen(name), i;

	if (len == 0 || len > SIM_NAME_MAX) {
		fprintf(stderr, "%s: %s: names must have 1 to %d characters\n", prog_name, opt,
			SIM_NAME_MAX);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch <= ' ' || ch >= 0x7f || ch == '/' || ch == '+' || ch == '#') {
			fprintf(stderr,
				"%s: %s: \"%s\": names are printable ASCII without space, '/', '+' "
				"or '#'\n",
				prog_name, opt, name);
			return -1;
		}
	}
	return 0;
}

int sim__parse_list(const char *opt, const char *arg, size_t max, struct sim_list *out)
{
	size_t n = 1, i, j;
	const char *q;
	char *p;

	memset(out, 0, sizeof(*out));
	for (q = arg; *q; q++)
		n += *q == ',';
	if (n > max) {
		fprintf(stderr, "%s: %s: at most %zu names\n", prog_name, opt, max);
		return -1;
	}
	out->buf = strdup(arg);
	out->items = calloc(n, sizeof(*out->items));
	if (!out->buf || !out->items) {
		fprintf(stderr, "%s: out of memory\n", prog_name);
		goto error;
	}
	p = out->buf;
	for (i = 0; i < n; i++) {
		out->items[i] = p;
		p += strcspn(p, ",");
		if (*p)
			*p++ = '\0';
		if (check_name(opt, out->items[i]))
			goto error;
		for (j = 0; j < i; j++) {
			if (strcmp(out->items[j], out->items[i]) == 0) {
				fprintf(stderr, "%s: %s: \"%s\" is given twice\n", prog_name, opt,
					out->items[i]);
				goto error;
			}
		}
	}
	out->n = n;
	return 0;
error:
	sim__list_free(out);
	return -1;
}

void sim__list_free(struct sim_list *l)
{
	free(l->items);
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

/* ---- the command line ------------------------------------------------------------------ */

static const struct option common_longopts[] = {
	SIM_BROKER_LONGOPTS(SIM_OPT_BROKER),
	{"token-file", required_argument, NULL, SIM_OPT_TOKEN_FILE},
	{"client-id", required_argument, NULL, SIM_OPT_CLIENT_ID},
	{"seed", required_argument, NULL, SIM_OPT_SEED},
	{"count", required_argument, NULL, SIM_OPT_COUNT},
	{"help", no_argument, NULL, SIM_OPT_HELP},
};

void sim__usage_common(FILE *fp)
{
	sim__brokers_usage(fp);
	fputs("  --token-file FILE     this program's JWT, sent as the MQTT password with MQTT v5\n"
	      "                        and no username (required; re-read on every reconnect)\n"
	      "  --client-id ID        MQTT client id (default <program>-<pid>)\n"
	      "  --seed N              seed of the random streams, for reproducible runs\n"
	      "                        (default: from the clock, printed at start)\n"
	      "  --help                this text\n"
	      "\nExit status: 0 after --count, SIGINT or SIGTERM; 1 on an error, such as a\n"
	      "refused connection; 2 on a bad command line.\n",
		fp);
}

/* Returns 0 if handled, 1 if c is not a common option, -1 on a bad value (reported). */
static int parse_common(struct sim_opts *o, int c, const char *arg)
{
	long v;

	if (c >= SIM_OPT_BROKER && c < SIM_OPT_BROKER + SIM_BROKER_NOPTS) {
		o->host_given |= c >= SIM_OPT_BROKER + 4; /* --mqtt-host, --mqtt-port */
		return sim__brokers_option(&o->brokers, c - SIM_OPT_BROKER, arg, prog_name);
	}
	switch (c) {
	case SIM_OPT_TOKEN_FILE:
		o->token_file = arg;
		return 0;
	case SIM_OPT_CLIENT_ID:
		o->client_id = arg;
		if (check_name("--client-id", arg))
			return -1;
		return 0;
	case SIM_OPT_SEED:
		o->has_seed = true;
		return sim__parse_u64("--seed", arg, &o->seed);
	case SIM_OPT_COUNT:
		if (sim__parse_long("--count", arg, 1, SIM_COUNT_MAX, &v))
			return -1;
		o->count = (uint64_t)v;
		return 0;
	default:
		return 1;
	}
}

/* Fills all with the common options and then the program's; -1 if they do not fit. */
static int merge_longopts(const struct option *own, struct option *all, size_t cap)
{
	size_t n = RTG_ARRAY_SIZE(common_longopts), i;

	memcpy(all, common_longopts, sizeof(common_longopts));
	for (i = 0; own && own[i].name; i++) {
		if (n + 1 >= cap)
			return -1;
		all[n++] = own[i];
	}
	memset(&all[n], 0, sizeof(all[n]));
	return 0;
}

int sim__parse_args(int argc, char *argv[], const struct sim_prog *prog, struct sim_opts *o)
{
	struct option all[SIM_MAX_OPTS];
	int c, rc;

	memset(o, 0, sizeof(*o));
	sim__brokers_init(&o->brokers);
	parsed_brokers = &o->brokers;
	if (merge_longopts(prog->longopts, all, RTG_ARRAY_SIZE(all))) {
		fprintf(stderr, "%s: too many options\n", prog_name);
		return -1;
	}
	optind = 1;
	opterr = 0; /* its messages would name argv[0], a path: say it here */
	while ((c = getopt_long(argc, argv, ":", all, NULL)) != -1) {
		if (c == SIM_OPT_HELP) {
			prog->usage(stdout);
			sim__brokers_free(&o->brokers);
			return 1;
		}
		if (c == '?' || c == ':') {
			fprintf(stderr, "%s: %s %s\n", prog_name, argv[optind - 1],
				c == ':' ? "needs a value" : "is not an option");
			goto usage;
		}
		rc = parse_common(o, c, optarg);
		if (rc > 0)
			rc = prog->parse(prog->ctx, c, optarg);
		if (rc)
			goto usage;
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog_name, argv[optind]);
		goto usage;
	}
	if (!o->token_file) {
		fprintf(stderr, "%s: --token-file is required\n", prog_name);
		goto usage;
	}
	if (sim__brokers_finish(&o->brokers, o->host_given, prog_name))
		goto usage;
	if (!o->has_seed)
		o->seed = sim__rng_derive((uint64_t)sim__real_ns(), "") ^ (uint64_t)getpid();
	return 0;
usage:
	sim__brokers_free(&o->brokers);
	fprintf(stderr, "Try '%s --help' for more information.\n", prog_name);
	return -1;
}

void sim__args_free(void)
{
	if (parsed_brokers)
		sim__brokers_free(parsed_brokers);
	parsed_brokers = NULL;
}

/* ---- the PRNG ----------------------------------------------------------------------------- */

/* splitmix64 (Steele, Lea, Flood): spreads any seed, 0 included, over the 64 bits. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

void sim__rng_seed(struct sim_rng *r, uint64_t seed)
{
	uint64_t x = seed;

	r->s = splitmix64(&x);
	if (r->s == 0) /* xorshift's one forbidden state */
		r->s = 0x9E3779B97F4A7C15ULL;
	r->spare = 0.0;
	r->has_spare = false;
}

uint64_t sim__rng_derive(uint64_t seed, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a of the name */

	for (; *name; name++) {
		h ^= (unsigned char)*name;
		h *= 0x100000001b3ULL;
	}
	h ^= seed;
	return splitmix64(&h);
}

/* xorshift64* (Vigna): small, fast, and good enough for simulated data; not for secrets. */
uint64_t sim__rng_next(struct sim_rng *r)
{
	uint64_t x = r->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

double sim__rng_uniform(struct sim_rng *r)
{
	return (double)(sim__rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t sim__rng_below(struct sim_rng *r, uint64_t n)
{
	return sim__rng_next(r) % n; /* the bias is below 2^-50 for the small n used here */
}

/* Box-Muller makes two independent normals from two uniforms; the second is kept for the
 * next call. 1 - u is in (0, 1], so log() never sees 0. */
double sim__rng_normal(struct sim_rng *r)
{
	double u1, u2, rad;

	if (r->has_spare) {
		r->has_spare = false;
		return r->spare;
	}
	u1 = 1.0 - sim__rng_uniform(r);
	u2 = sim__rng_uniform(r);
	rad = sqrt(-2.0 * log(u1));
	r->spare = rad * sin(2.0 * M_PI * u2);
	r->has_spare = true;
	return rad * cos(2.0 * M_PI * u2);
}

/* ---- signals, clocks, schedules ---------------------------------------------------------- */

/* The handler only sets the flag; the main loop notices it within one sleep slice. */
static void on_signal(int sig)
{
	UNUSED(sig);
	stop_requested = 1;
}

enum rtg_err sim__signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	if (sigemptyset(&sa.sa_mask) || sigaction(SIGINT, &sa, NULL) ||
		sigaction(SIGTERM, &sa, NULL))
		goto error;
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL))
		goto error;
	return RTG_OK;
error:
	fprintf(stderr, "%s: sigaction: %s\n", prog_name, strerror(errno));
	return RTG_ERR_INVAL;
}

bool sim__stopping(void)
{
	return stop_requested != 0;
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts)) /* cannot fail for these two clocks */
		return 0;
	return (int64_t)ts.tv_sec * SIM_NS_PER_SEC + ts.tv_nsec;
}

int64_t sim__mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t sim__real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

/* Sleeps in slices of at most SIM_SLEEP_SLICE_NS: a signal that lands between the flag
 * test and clock_nanosleep() then delays the exit by one slice, not by a whole interval. */
void sim__sleep_until(int64_t deadline_ns)
{
	struct timespec ts;
	int64_t now, until;
	int rc;

	while (!stop_requested) {
		now = sim__mono_ns();
		if (now >= deadline_ns)
			return;
		until = deadline_ns - now > SIM_SLEEP_SLICE_NS ? now + SIM_SLEEP_SLICE_NS
							       : deadline_ns;
		ts.tv_sec = (time_t)(until / SIM_NS_PER_SEC);
		ts.tv_nsec = (long)(until % SIM_NS_PER_SEC);
		rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (rc && rc != EINTR)
			return;
	}
}

void sim__rate_init(struct sim_rate *r, double per_sec, int64_t start_ns)
{
	r->base_ns = start_ns;
	r->period_ns = 1e9 / per_sec;
	r->k = 0;
}

uint64_t sim__rate_take(struct sim_rate *r, int64_t now_ns, uint64_t max)
{
	uint64_t due, n, lag_max;

	if (now_ns < r->base_ns)
		return 0;
	due = (uint64_t)((double)(now_ns - r->base_ns) / r->period_ns) + 1;
	if (due <= r->k)
		return 0;
	n = due - r->k;
	lag_max = (uint64_t)(1e9 / r->period_ns) + 1;
	if (n > lag_max) {
		r->k = due - lag_max;
		n = lag_max;
	}
	if (n > max)
		n = max;
	r->k += n;
	if (r->k >= SIM_RATE_REBASE) {
		r->base_ns += llround((double)r->k * r->period_ns);
		r->k = 0;
	}
	return n;
}

int64_t sim__rate_next(const struct sim_rate *r)
{
	return r->base_ns + llround((double)r->k * r->period_ns);
}

enum rtg_err sim__iso8601(int64_t real_ns, char *buf, size_t len)
{
	time_t secs = (time_t)(real_ns / SIM_NS_PER_SEC);
	long ms = (long)(real_ns % SIM_NS_PER_SEC / 1000000);
	struct tm tm;
	int n;

	if (real_ns < 0 || !gmtime_r(&secs, &tm))
		return RTG_ERR_INVAL;
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	return n > 0 && (size_t)n < len ? RTG_OK : RTG_ERR_INVAL;
}
