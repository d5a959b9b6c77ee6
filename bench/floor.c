/*
 * floor.c - rtg-floor: the least a one-core server can take to push one
 * message to N loopback TCP clients, the reference line of bench/run.sh's
 * fixed-load scenario.
 *
 * The "server" is a loop of send() calls and nothing else: no framing, no
 * event loop, no queue. It holds N connections to a reader process, pinned
 * to another core, and at a fixed rate (open loop) sends one message of
 * --size bytes to every connection in turn, the scheduled send time in its
 * first 8 bytes. The reader (epoll, like rtg-bench) records each message's
 * latency. Whatever a real server does on top of this adds to these figures;
 * what is left is the kernel's cost of a loopback send, the receiving
 * socket's processing included (docs/benchmarks.md).
 *
 * Prints one line of key=value pairs in rtg-bench's format (label=floor).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_SIZE 4096

struct opts {
	int conns, rate, size, server_cpu, client_cpu;
	double warmup, duration;
};

/* What the reader sends back to the writer through a pipe. */
struct report {
	struct hist lat;
};

static uint64_t clock_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("rtg-floor: sched_setaffinity");
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		ru.ru_stime.tv_usec / 1e6;
}

/* A listening socket on a free loopback port; its address in *a. */
static int listen_loopback(struct sockaddr_in *a)
{
	socklen_t alen = sizeof(*a);
	int ls = socket(AF_INET, SOCK_STREAM, 0);

	*a = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (ls < 0 || bind(ls, (struct sockaddr *)a, sizeof(*a)) ||
		getsockname(ls, (struct sockaddr *)a, &alen) || listen(ls, 4096))
		return -1;
	return ls;
}

static int read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/*
 * The reader: every message's latency from its scheduled send time, counted
 * when that time is inside the window [from, to). Ends when every
 * connection is closed; writes its report to fd out.
 */
static int reader(const struct opts *o, const struct sockaddr_in *addr, int in, int out)
{
	int *cli = calloc((size_t)o->conns, sizeof(int));
	uint64_t window[2], from, to;
	struct report *r = calloc(1, sizeof(*r));
	size_t *fill = calloc((size_t)o->conns, sizeof(*fill));
	unsigned char *buf = malloc((size_t)o->conns * (size_t)o->size);
	struct epoll_event ev[256];
	int ep = epoll_create1(0), live = o->conns, i, k;

	if (!cli || !r || !fill || !buf || ep < 0)
		return 1;
	pin(o->client_cpu);
	for (i = 0; i < o->conns; i++) {
		struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};

		cli[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (cli[i] < 0 || connect(cli[i], (const struct sockaddr *)addr, sizeof(*addr)) ||
			epoll_ctl(ep, EPOLL_CTL_ADD, cli[i], &e)) {
			perror("rtg-floor: reader");
			return 1;
		}
	}
	/* the writer says when the measured window is, once it has every connection */
	if (read_all(in, window, sizeof(window)))
		return 1;
	from = window[0];
	to = window[1];
	while (live > 0) {
		k = epoll_wait(ep, ev, 256, -1);
		for (i = 0; i < k; i++) {
			uint32_t c = ev[i].data.u32;
			unsigned char *msg = buf + (size_t)c * (size_t)o->size;
			ssize_t n = read(cli[c], msg + fill[c], (size_t)o->size - fill[c]);
			uint64_t ts;

			if (n <= 0) {
				if (n < 0 && errno == EINTR)
					continue;
				epoll_ctl(ep, EPOLL_CTL_DEL, cli[c], NULL);
				live--;
				continue;
			}
			fill[c] += (size_t)n;
			if (fill[c] < (size_t)o->size)
				continue;
			fill[c] = 0;
			memcpy(&ts, msg, sizeof(ts));
			if (ts >= from && ts < to)
				hist__add(&r->lat, (clock_ns() - ts) / 1000);
		}
	}
	return write(out, r, sizeof(*r)) == (ssize_t)sizeof(*r) ? 0 : 1;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: rtg-floor [--conns N] [--rate PER_S] [--size BYTES] "
		"[--warmup S] [--duration S] [--server-cpu C] [--client-cpu C]\n");
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {{"conns", 1, 0, 'n'}, {"rate", 1, 0, 'r'},
		{"size", 1, 0, 's'}, {"warmup", 1, 0, 'w'}, {"duration", 1, 0, 'd'},
		{"server-cpu", 1, 0, 'S'}, {"client-cpu", 1, 0, 'C'}, {"drain", 1, 0, 'D'},
		{"help", 0, 0, 'h'}, {0, 0, 0, 0}};
	int c;

	*o = (struct opts){.conns = 1000,
		.rate = 100,
		.size = 128,
		.warmup = 1,
		.duration = 4,
		.server_cpu = 0,
		.client_cpu = 1};
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->conns = atoi(optarg);
			break;
		case 'r':
			o->rate = atoi(optarg);
			break;
		case 's':
			o->size = atoi(optarg);
			break;
		case 'w':
			o->warmup = atof(optarg);
			break;
		case 'd':
			o->duration = atof(optarg);
			break;
		case 'S':
			o->server_cpu = atoi(optarg);
			break;
		case 'C':
			o->client_cpu = atoi(optarg);
			break;
		case 'D':
			break; /* rtg-bench's; every message is read before the reader ends */
		default:
			usage();
		}
	}
	if (o->conns < 1 || o->rate < 1 || o->size < 8 || o->size > MAX_SIZE || o->duration <= 0 ||
		o->warmup < 0)
		usage();
}

int main(int argc, char **argv)
{
	struct opts o;
	struct report r;
	unsigned char msg[MAX_SIZE];
	uint64_t start, from, window[2], period, k, rounds, sent = 0;
	double cpu0 = -1, cpu1 = 0;
	int *srv, up[2], down[2], ls, one = 1, i, status;
	struct sockaddr_in addr;
	pid_t child;

	parse(argc, argv, &o);
	alarm((unsigned)(o.warmup + o.duration) + 120); /* bounded, whatever goes wrong */
	srv = calloc((size_t)o.conns, sizeof(int));
	ls = listen_loopback(&addr);
	if (!srv || ls < 0 || pipe(up) || pipe(down))
		die("set-up");
	/* each process holds one end of every connection: 2 x 10,000 fit under 20,000 */
	child = fork();
	if (child < 0)
		die("fork");
	if (!child) {
		close(ls);
		_exit(reader(&o, &addr, down[0], up[1]));
	}
	for (i = 0; i < o.conns; i++) {
		srv[i] = accept(ls, NULL, NULL);
		if (srv[i] < 0)
			die("accept");
		setsockopt(srv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	close(ls);
	period = 1000000000u / (uint64_t)o.rate;
	start = clock_ns() + 100000000u;
	window[0] = start + (uint64_t)(o.warmup * 1e9);
	window[1] = window[0] + (uint64_t)(o.duration * 1e9);
	from = window[0];
	rounds = (window[1] - start) / period;
	if (write(down[1], window, sizeof(window)) != (ssize_t)sizeof(window))
		die("the reader is gone");
	pin(o.server_cpu);
	memset(msg, 'x', sizeof(msg));
	for (k = 0; k < rounds; k++) {
		uint64_t ts = start + k * period;
		struct timespec t = {(time_t)(ts / 1000000000u), (long)(ts % 1000000000u)};

		if (cpu0 < 0 && ts >= from)
			cpu0 = cpu_seconds();
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
			;
		memcpy(msg, &ts, sizeof(ts));
		for (i = 0; i < o.conns; i++) {
			if (send(srv[i], msg, (size_t)o.size, MSG_NOSIGNAL) == o.size && ts >= from)
				sent++;
		}
	}
	cpu1 = cpu_seconds();
	for (i = 0; i < o.conns; i++)
		close(srv[i]);
	if (read_all(up[0], &r, sizeof(r)) || waitpid(child, &status, 0) < 0)
		die("the reader failed");
	printf("step label=floor mode=send conns=%d rate=%d payload=%d target_dps=%d "
	       "dps=%.0f ratio=%.6f lost=%llu p50_us=%llu p99_us=%llu p999_us=%llu "
	       "max_us=%llu cpu_us_per_delivery=%.3f server_cpu_pct=%.1f\n",
		o.conns, o.rate, o.size, o.conns * o.rate, (double)r.lat.count / o.duration,
		sent ? (double)r.lat.count / (double)sent : 0.0,
		(unsigned long long)(sent > r.lat.count ? sent - r.lat.count : 0),
		(unsigned long long)hist__quantile(&r.lat, 0.5),
		(unsigned long long)hist__quantile(&r.lat, 0.99),
		(unsigned long long)hist__quantile(&r.lat, 0.999), (unsigned long long)r.lat.max,
		sent ? (cpu1 - cpu0) * 1e6 / (double)sent : 0.0,
		100.0 * (cpu1 - cpu0) / o.duration);
	return 0;
}
