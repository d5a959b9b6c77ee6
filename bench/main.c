/*
 * main.c - rtg-bench: opens N subscriber connections of one mode (adapter
 * WebSocket or SSE, MQTT over TCP or WebSocket, a plain broadcast WebSocket),
 * measures the server's memory per idle connection and its accept rate, then
 * runs an open-loop MQTT publisher at one or more rates and reports, per rate,
 * deliveries/s, losses, latency quantiles and the server's CPU per delivery.
 *
 * It does not start servers (bench/run.sh does) and runs in one process and
 * one thread: about 19,000 connections per process on this machine's file
 * limit. Options and the report format: rtg-bench --help, docs/benchmarks.md.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "run.h"

static struct bench_cfg cfg = {
	.mode = MODE_WS,
	.host = "127.0.0.1",
	.port = 8000,
	.path = "/mqtt",
	.user = "bench",
	.topic_prefix = "market/BENCH",
	.nsrc = 8,
	.pub_host = "127.0.0.1",
	.pub_port = 1883,
	.pub_user = "bench-pub",
	.payload = 64,
};

static struct run_opts opts = {
	.conns = 100,
	.topics = 1,
	.per_conn = 1,
	.warmup = 2,
	.duration = 5,
	.drain = 3,
	.hold = 1,
	.connect_timeout = 60,
	.inflight = 200,
	.label = "server",
};

static const char usage[] =
	"Usage: rtg-bench [OPTIONS]\n"
	"\n"
	"  --mode MODE            ws (adapter JSON WebSocket), sse (adapter SSE), mqtt,\n"
	"                         mqtt-ws (MQTT over WebSocket), raw-ws (bench/peers server)\n"
	"  --host HOST, --port N  the server under test (default 127.0.0.1:8000)\n"
	"  --path PATH            mqtt-ws request path (default /mqtt)\n"
	"  --token-file FILE      the subscribers' JWT (ws, sse: ?token=; mqtt: password)\n"
	"  --user NAME            MQTT user name of subscribers (default bench)\n"
	"  --conns N              subscriber connections (default 100)\n"
	"  --topics N             topics market/BENCH0..N-1 (default 1)\n"
	"  --per-conn 1|2         topics per connection (default 1)\n"
	"  --topic-prefix P       default market/BENCH\n"
	"  --src-addrs N          bind to 127.0.0.2..N+1 (default 8; 0: do not bind)\n"
	"  --pub-host H, --pub-port N, --pub-token-file F, --pub-user U\n"
	"                         the publisher's broker (default 127.0.0.1:1883, bench-pub)\n"
	"  --payload BYTES        payload size (default 64; e.g. 1024)\n"
	"  --dps LIST             target deliveries/s, comma list: one step each\n"
	"  --rate LIST            or publish rates in messages/s (all topics together)\n"
	"  --stop-p99-ms MS       stop the steps at the first with p99 above MS or a loss\n"
	"  --warmup S, --duration S, --drain S   per step (default 2, 5, 3)\n"
	"  --hold S               idle seconds after connecting, before measuring RSS (default 1)\n"
	"  --connect-timeout S    give up connecting after S (default 60)\n"
	"  --inflight N           handshakes in progress at once (default 200)\n"
	"  --slow-pct P           this percentage of connections stops reading (default 0)\n"
	"  --churn-per-s N        close and reopen N connections a second during steps\n"
	"  --server-pid PID       the server process: RSS and CPU from /proc/PID\n"
	"  --label NAME           names the server in the report (default server)\n"
	"\n"
	"Prints \"idle key=value ...\" and one \"step key=value ...\" line per step on\n"
	"stdout, a human summary on stderr. Exit status 0 if it ran, 1 on bad options or\n"
	"if no connection could be opened.\n";

static int parse_mode(const char *s)
{
	static const char *const names[] = {"ws", "sse", "mqtt", "mqtt-ws", "raw-ws"};
	int i;

	for (i = 0; i < 5; i++) {
		if (!strcmp(s, names[i])) {
			cfg.mode = (enum bench_mode)i;
			return 0;
		}
	}
	return -1;
}

static char *read_token(const char *file)
{
	char buf[8192], *nl;
	FILE *f = fopen(file, "r");
	size_t n;

	if (!f) {
		perror(file);
		exit(EXIT_FAILURE);
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	nl = strpbrk(buf, "\r\n");
	if (nl)
		*nl = '\0';
	return strdup(buf);
}

/* Fills a[] from a comma list of positive numbers; returns how many, or -1. */
static int parse_list(const char *s, double *a, int max)
{
	char *end;
	int n = 0;

	while (*s && n < max) {
		a[n] = strtod(s, &end);
		if (end == s || a[n] <= 0)
			return -1;
		n++;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return n;
}

static long num(const char *s, long lo, long hi)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || end == s || v < lo || v > hi) {
		fprintf(stderr, "rtg-bench: bad number '%s' (%ld..%ld)\n", s, lo, hi);
		exit(EXIT_FAILURE);
	}
	return v;
}

enum {
	O_MODE = 256,
	O_HOST,
	O_PORT,
	O_PATH,
	O_TOKEN,
	O_USER,
	O_CONNS,
	O_TOPICS,
	O_PER,
	O_PREFIX,
	O_SRC,
	O_PHOST,
	O_PPORT,
	O_PTOKEN,
	O_PUSER,
	O_PAYLOAD,
	O_DPS,
	O_RATE,
	O_STOP,
	O_WARM,
	O_DUR,
	O_DRAIN,
	O_HOLD,
	O_CTO,
	O_INFL,
	O_SLOW,
	O_CHURN,
	O_PID,
	O_LABEL,
};

static const struct option longopts[] = {
	{"mode", 1, 0, O_MODE},
	{"host", 1, 0, O_HOST},
	{"port", 1, 0, O_PORT},
	{"path", 1, 0, O_PATH},
	{"token-file", 1, 0, O_TOKEN},
	{"user", 1, 0, O_USER},
	{"conns", 1, 0, O_CONNS},
	{"topics", 1, 0, O_TOPICS},
	{"per-conn", 1, 0, O_PER},
	{"topic-prefix", 1, 0, O_PREFIX},
	{"src-addrs", 1, 0, O_SRC},
	{"pub-host", 1, 0, O_PHOST},
	{"pub-port", 1, 0, O_PPORT},
	{"pub-token-file", 1, 0, O_PTOKEN},
	{"pub-user", 1, 0, O_PUSER},
	{"payload", 1, 0, O_PAYLOAD},
	{"dps", 1, 0, O_DPS},
	{"rate", 1, 0, O_RATE},
	{"stop-p99-ms", 1, 0, O_STOP},
	{"warmup", 1, 0, O_WARM},
	{"duration", 1, 0, O_DUR},
	{"drain", 1, 0, O_DRAIN},
	{"hold", 1, 0, O_HOLD},
	{"connect-timeout", 1, 0, O_CTO},
	{"inflight", 1, 0, O_INFL},
	{"slow-pct", 1, 0, O_SLOW},
	{"churn-per-s", 1, 0, O_CHURN},
	{"server-pid", 1, 0, O_PID},
	{"label", 1, 0, O_LABEL},
	{"help", 0, 0, 'h'},
	{0, 0, 0, 0},
};

static void set_steps(const char *s, bool dps)
{
	opts.nsteps = parse_list(s, opts.steps, RUN_MAX_STEPS);
	opts.steps_are_dps = dps;
	if (opts.nsteps <= 0) {
		fprintf(stderr, "rtg-bench: bad list '%s'\n", s);
		exit(EXIT_FAILURE);
	}
}

/* Options that take a number or a word about the run, not the connections. */
static void run_option(int o, const char *a)
{
	switch (o) {
	case O_DPS:
		set_steps(a, true);
		break;
	case O_RATE:
		set_steps(a, false);
		break;
	case O_STOP:
		opts.stop_p99_ms = (double)num(a, 1, 3600000);
		break;
	case O_WARM:
		opts.warmup = (double)num(a, 0, 3600);
		break;
	case O_DUR:
		opts.duration = (double)num(a, 1, 3600);
		break;
	case O_DRAIN:
		opts.drain = (double)num(a, 0, 3600);
		break;
	case O_HOLD:
		opts.hold = (double)num(a, 0, 3600);
		break;
	case O_CTO:
		opts.connect_timeout = (double)num(a, 1, 3600);
		break;
	case O_INFL:
		opts.inflight = (uint32_t)num(a, 1, 100000);
		break;
	case O_SLOW:
		opts.slow_pct = (uint32_t)num(a, 0, 100);
		break;
	case O_CHURN:
		opts.churn_per_s = (double)num(a, 0, 100000);
		break;
	case O_PID:
		opts.server_pid = (int)num(a, 1, 1 << 30);
		break;
	case O_LABEL:
		opts.label = a;
		break;
	case O_CONNS:
		opts.conns = (uint32_t)num(a, 1, 1000000);
		break;
	case O_TOPICS:
		opts.topics = (uint32_t)num(a, 1, 1000000);
		break;
	case O_PER:
		opts.per_conn = (uint32_t)num(a, 1, CONN_TOPICS);
		break;
	default:
		fputs(usage, stderr);
		exit(EXIT_FAILURE);
	}
}

static void parse_args(int argc, char **argv)
{
	int o;

	while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (o) {
		case 'h':
			fputs(usage, stdout);
			exit(EXIT_SUCCESS);
		case O_MODE:
			if (parse_mode(optarg))
				run_option(-1, NULL);
			break;
		case O_HOST:
			cfg.host = optarg;
			break;
		case O_PORT:
			cfg.port = (int)num(optarg, 1, 65535);
			break;
		case O_PATH:
			cfg.path = optarg;
			break;
		case O_TOKEN:
			cfg.token = read_token(optarg);
			break;
		case O_USER:
			cfg.user = optarg;
			break;
		case O_PREFIX:
			cfg.topic_prefix = optarg;
			break;
		case O_SRC:
			cfg.nsrc = (uint32_t)num(optarg, 0, 250);
			break;
		case O_PHOST:
			cfg.pub_host = optarg;
			break;
		case O_PPORT:
			cfg.pub_port = (int)num(optarg, 1, 65535);
			break;
		case O_PTOKEN:
			cfg.pub_token = read_token(optarg);
			break;
		case O_PUSER:
			cfg.pub_user = optarg;
			break;
		case O_PAYLOAD:
			cfg.payload = (uint32_t)num(optarg, 64, 65536);
			break;
		default:
			run_option(o, optarg);
		}
	}
	if (optind < argc)
		run_option(-1, NULL);
	if ((cfg.mode == MODE_WS || cfg.mode == MODE_SSE) && !cfg.token) {
		fprintf(stderr, "rtg-bench: --token-file is required for the adapter\n");
		exit(EXIT_FAILURE);
	}
	if (!cfg.token)
		cfg.user = NULL; /* anonymous MQTT */
	if (!cfg.pub_token)
		cfg.pub_user = NULL;
}

void bench__topic_name(uint32_t k, char *out, size_t cap)
{
	snprintf(out, cap, "%s%u", cfg.topic_prefix, k);
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	if (conn__loop_init(&cfg)) {
		perror("epoll_create1");
		return EXIT_FAILURE;
	}
	return run__all(&cfg, &opts) ? EXIT_FAILURE : EXIT_SUCCESS;
}
