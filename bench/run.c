/*
 * run.c - the phases of an rtg-bench run and their report. Connect every
 * subscriber (a bounded number of handshakes at a time), hold them idle and
 * read the server's RSS and the kernel's slab and socket memory, then run one
 * open-loop publishing step per rate: warm-up, a measured window, a drain.
 *
 * Each message carries its scheduled send time, so a late publisher shows as
 * latency instead of hiding it (no coordinated omission). A message counts if
 * its timestamp is inside the window; losses are what each connection should
 * have received from the window minus what it did. It does not average over
 * repeated runs. Single-threaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "run.h"

#define NS 1000000000ull

static const struct bench_cfg *cfg;
static const struct run_opts *opt;
static struct conn *conns, pub;
static uint64_t *pub_in_window; /* per topic: messages published inside the window */
static uint64_t *topic_seq; /* per topic: the last sequence number published */
static uint64_t connect_last_ns;

/* ---- /proc ------------------------------------------------------------------------- */

static long proc_status_kib(int pid, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && sscanf(line + kl, "%ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* utime + stime of pid in microseconds, -1 if unknown. */
static long long cpu_us(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p ||
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) !=
			2)
		return -1;
	return (long long)((ut + st) * 1000000ull / (unsigned long long)sysconf(_SC_CLK_TCK));
}

static long long self_cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
		ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/*
 * Busy and total jiffies of CPU 0, where the server is pinned: includes the
 * softirq work of loopback delivery, which the kernel may charge to ksoftirqd
 * rather than to the server's own utime/stime.
 */
static void cpu0_jiffies(unsigned long long *busy, unsigned long long *total)
{
	unsigned long long v[8] = {0};
	char line[512];
	FILE *f = fopen("/proc/stat", "r");

	*busy = *total = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "cpu0 %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			    &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
			*total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
			*busy = *total - v[3] - v[4];
			break;
		}
	}
	if (f)
		fclose(f);
}

/* Kernel memory that grows with sockets: slab objects plus TCP buffer pages. */
static long long kernel_bytes(void)
{
	char line[256];
	long long slab = 0, pages = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %lld", &slab) == 1)
			break;
	if (f)
		fclose(f);
	f = fopen("/proc/net/sockstat", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "TCP: inuse %*d orphan %*d tw %*d alloc %*d mem %lld", &pages) ==
			1)
			break;
	if (f)
		fclose(f);
	return slab * 1024 + pages * 4096;
}

/* ---- callbacks from conn.c ----------------------------------------------------------- */

void bench__on_ready(struct conn *c)
{
	if (c == &pub)
		return;
	stats.ready++;
	connect_last_ns = now_ns;
	if (c->churned) {
		stats.churn_done++;
		stats.churn_ns += mono_ns() - c->t_start;
	}
}

void bench__on_closed(struct conn *c)
{
	if (c == &pub) {
		fprintf(stderr, "rtg-bench: the publisher's connection closed\n");
		exit(EXIT_FAILURE);
	}
	if (stats.ready)
		stats.ready--;
}

void bench__on_message(struct conn *c, const uint8_t *p, size_t len)
{
	uint32_t k, slot;
	uint64_t n, ts;

	if (!proto__parse_payload(p, len, &k, &n, &ts)) {
		stats.other++;
		return;
	}
	stats.rx++;
	slot = c->ntopics > 1 && c->topic[1] == k;
	if (n <= c->last_n[slot])
		stats.dups++;
	c->last_n[slot] = n;
	if (ts >= stats.win_start && ts < stats.win_end) {
		c->rx_window++;
		stats.rx_window++;
		hist__add(&stats.lat, now_ns > ts ? now_ns - ts : 0);
	}
}

/* ---- connecting ---------------------------------------------------------------------- */

static void assign_topics(struct conn *c, uint32_t i)
{
	uint32_t t = opt->topics;

	c->fd = -1;
	c->mode = (uint8_t)cfg->mode;
	c->ntopics = (uint8_t)(opt->per_conn < t ? opt->per_conn : 1);
	c->topic[0] = i % t;
	/* the second topic is half the ring away, so pairs differ between neighbours */
	c->topic[1] = (i + t / 2 + i / t) % t;
	if (c->ntopics > 1 && c->topic[1] == c->topic[0])
		c->topic[1] = (c->topic[0] + 1) % t;
}

/* Opens every subscriber, at most opt->inflight handshakes at once. */
static int connect_all(void)
{
	uint64_t start = mono_ns(), deadline = start + (uint64_t)(opt->connect_timeout * NS);
	uint32_t opened = 0, failed = 0;
	double secs;

	while (stats.ready + failed < opt->conns && mono_ns() < deadline) {
		while (opened < opt->conns &&
			opened - stats.ready - stats.closed - failed < opt->inflight) {
			if (conn__open(&conns[opened++]))
				failed++;
		}
		conn__poll(mono_ns() + NS / 20);
		if (stats.closed) {
			failed += (uint32_t)stats.closed;
			stats.closed = 0;
		}
	}
	secs = (double)((connect_last_ns > start ? connect_last_ns : mono_ns()) - start) / NS;
	printf("connect label=%s ready=%llu failed=%u seconds=%.3f accept_per_s=%.0f\n", opt->label,
		(unsigned long long)stats.ready, failed, secs,
		secs > 0 ? (double)stats.ready / secs : 0);
	return stats.ready ? 0 : -1;
}

/* Waits secs seconds while serving the sockets (pings, stray messages). */
static void hold(double secs)
{
	uint64_t until = mono_ns() + (uint64_t)(secs * NS);

	while (mono_ns() < until)
		conn__poll(until);
}

static const char *mode_name(void)
{
	static const char *const names[] = {"ws", "sse", "mqtt", "mqtt-ws", "raw-ws"};

	return names[cfg->mode];
}

static void report_idle(long rss0, long long kern0)
{
	long rss = opt->server_pid ? proc_status_kib(opt->server_pid, "VmRSS:") : -1;
	long long kern = kernel_bytes();
	double n = stats.ready ? (double)stats.ready : 1;

	printf("idle label=%s mode=%s conns=%llu server_rss_kib_before=%ld server_rss_kib=%ld "
	       "rss_per_conn_b=%.0f kernel_per_conn_b=%.0f\n",
		opt->label, mode_name(), (unsigned long long)stats.ready, rss0, rss,
		rss0 >= 0 && rss >= 0 ? (double)(rss - rss0) * 1024 / n : -1,
		(double)(kern - kern0) / n);
	fflush(stdout);
}

/* ---- publishing ---------------------------------------------------------------------- */

/* Subscriptions per message on average: how a deliveries/s target becomes a rate. */
static double fanout(void)
{
	uint64_t subs = 0;
	uint32_t i;

	for (i = 0; i < opt->conns; i++)
		if (conns[i].state == ST_READY && !conns[i].slow)
			subs += conns[i].ntopics;
	return subs ? (double)subs / opt->topics : 1;
}

/*
 * Sends every message due by now as one batch: message i is due at
 * t0 + i / rate and carries that time, not the time it was sent.
 */
static uint64_t publish_due(uint64_t t0, double rate, uint64_t sent, uint64_t stop)
{
	static uint8_t batch[256 * 1024];
	char payload[65600], topic[96];
	size_t len = 0, pl, n;
	uint64_t due, now = mono_ns();
	uint32_t k;

	while ((due = t0 + (uint64_t)((double)sent * NS / rate)) <= now && due < stop) {
		k = (uint32_t)(sent % opt->topics);
		pl = proto__payload(payload, cfg->payload, k, ++topic_seq[k], due);
		bench__topic_name(k, topic, sizeof(topic));
		if (len + pl + 128 > sizeof(batch)) {
			if (conn__send(&pub, batch, len))
				exit(EXIT_FAILURE);
			len = 0;
		}
		n = proto__mqtt_publish(batch + len, sizeof(batch) - len, topic, payload, pl);
		len += n;
		if (due >= stats.win_start && due < stats.win_end)
			pub_in_window[k]++;
		sent++;
	}
	if (len && conn__send(&pub, batch, len))
		exit(EXIT_FAILURE);
	return sent;
}

/* Deliveries expected and received on connections that should have had them all. */
static void tally(uint64_t *expected, uint64_t *received)
{
	uint32_t i, j;

	*expected = *received = 0;
	for (i = 0; i < opt->conns; i++) {
		struct conn *c = &conns[i];

		if (c->slow || c->churned)
			continue;
		for (j = 0; j < c->ntopics; j++)
			*expected += pub_in_window[c->topic[j]];
		*received += c->rx_window;
	}
}

/* Churn: closes the next connection in turn and opens it again at once. */
static void churn_one(uint32_t *next)
{
	struct conn *c;
	uint32_t tries;

	for (tries = 0; tries < opt->conns; tries++) {
		c = &conns[(*next)++ % opt->conns];
		if (!c->slow && c->state == ST_READY)
			break;
	}
	if (tries == opt->conns)
		return;
	conn__close(c);
	if (stats.ready)
		stats.ready--;
	c->churned = true;
	c->last_n[0] = c->last_n[1] = 0;
	if (conn__open(c))
		stats.errors++;
}

static void reset_step(void)
{
	uint32_t i;

	hist__reset(&stats.lat);
	stats.rx = stats.rx_window = stats.dups = stats.other = stats.errors = 0;
	stats.churn_done = stats.churn_ns = 0;
	memset(pub_in_window, 0, opt->topics * sizeof(*pub_in_window));
	for (i = 0; i < opt->conns; i++)
		conns[i].rx_window = 0;
}

/* ---- one step ----------------------------------------------------------------------- */

struct step_result {
	double rate, target_dps, dps, ratio;
	uint64_t lost;
	long long cpu_us;
	long long self_us; /* rtg-bench's own CPU in the window */
	double cpu0_pct; /* CPU 0 busy in the window, all processes and softirq */
	double window_s;
};

static void report_step(const struct step_result *r)
{
	const struct hist *h = &stats.lat;
	uint32_t i, slow = 0, slow_closed = 0, closed = 0;
	double us = 1000.0;

	for (i = 0; i < opt->conns; i++) {
		slow += conns[i].slow;
		slow_closed += conns[i].slow && conns[i].state == ST_CLOSED;
		closed += !conns[i].slow && conns[i].state == ST_CLOSED;
	}
	printf("step label=%s mode=%s conns=%u topics=%u per_conn=%u payload=%u rate=%.0f "
	       "target_dps=%.0f dps=%.0f ratio=%.6f lost=%llu dups=%llu p50_us=%.0f p99_us=%.0f "
	       "p999_us=%.0f max_us=%.0f cpu_us_per_delivery=%.3f server_cpu_pct=%.1f "
	       "server_rss_kib=%ld slow=%u slow_closed=%u closed=%u churned=%llu "
	       "churn_connect_ms=%.1f errors=%llu bench_cpu_pct=%.1f cpu0_pct=%.1f\n",
		opt->label, mode_name(), opt->conns, opt->topics, opt->per_conn, cfg->payload,
		r->rate, r->target_dps, r->dps, r->ratio, (unsigned long long)r->lost,
		(unsigned long long)stats.dups, hist__quantile(h, 0.5) / us,
		hist__quantile(h, 0.99) / us, hist__quantile(h, 0.999) / us, h->max / us,
		r->cpu_us >= 0 && stats.rx_window ? (double)r->cpu_us / (double)stats.rx_window
						  : -1,
		r->cpu_us >= 0 ? (double)r->cpu_us / (r->window_s * 1e4) : -1,
		opt->server_pid ? proc_status_kib(opt->server_pid, "VmRSS:") : -1, slow,
		slow_closed, closed, (unsigned long long)stats.churn_done,
		stats.churn_done ? (double)stats.churn_ns / (double)stats.churn_done / 1e6 : 0,
		(unsigned long long)stats.errors, (double)r->self_us / (r->window_s * 1e4),
		r->cpu0_pct);
	fflush(stdout);
	fprintf(stderr,
		"%-10s %-7s %6u conns: %9.0f/s of %9.0f/s target, ratio %.4f, p50 %.2f ms, "
		"p99 %.2f ms, max %.2f ms\n",
		opt->label, mode_name(), opt->conns, r->dps, r->target_dps, r->ratio,
		hist__quantile(h, 0.5) / 1e6, hist__quantile(h, 0.99) / 1e6, h->max / 1e6);
}

/* Publishes for the warm-up, the window and then waits out the drain. */
static void publish_window(double rate, struct step_result *r)
{
	uint64_t t0 = mono_ns() + NS / 100, now, next, next_churn = t0, sent = 0;
	uint64_t expected, received, drain_end;
	long long cpu0 = -1, self0 = 0;
	unsigned long long b0 = 0, t0_j = 0, b1, t1_j;
	uint32_t churn_next = 0;

	stats.win_start = t0 + (uint64_t)(opt->warmup * NS);
	stats.win_end = stats.win_start + (uint64_t)(opt->duration * NS);
	while ((now = mono_ns()) < stats.win_end) {
		next = t0 + (uint64_t)((double)sent * NS / rate);
		if (opt->churn_per_s > 0 && next_churn < next)
			next = next_churn;
		conn__poll(next < stats.win_end ? next : stats.win_end);
		sent = publish_due(t0, rate, sent, stats.win_end);
		if (!self0 && now >= stats.win_start) {
			self0 = self_cpu_us();
			cpu0_jiffies(&b0, &t0_j);
			cpu0 = opt->server_pid ? cpu_us(opt->server_pid) : -1;
		}
		if (opt->churn_per_s > 0 && mono_ns() >= next_churn) {
			churn_one(&churn_next);
			next_churn += (uint64_t)(NS / opt->churn_per_s);
		}
	}
	r->cpu_us = cpu0 >= 0 ? cpu_us(opt->server_pid) - cpu0 : -1;
	r->self_us = self_cpu_us() - self0;
	cpu0_jiffies(&b1, &t1_j);
	r->cpu0_pct = t1_j > t0_j ? 100.0 * (double)(b1 - b0) / (double)(t1_j - t0_j) : -1;
	r->window_s = opt->duration;
	drain_end = mono_ns() + (uint64_t)(opt->drain * NS);
	do {
		conn__poll(mono_ns() + NS / 50);
		tally(&expected, &received);
	} while (received < expected && mono_ns() < drain_end);
	r->lost = expected > received ? expected - received : 0;
	r->ratio = expected ? (double)received / (double)expected : 0;
	r->dps = (double)stats.rx_window / opt->duration;
}

/*
 * Runs one step; returns its p99 in ns, or UINT64_MAX if a message was lost
 * or nothing arrived (the server is past its ceiling).
 */
static uint64_t run_step(double step)
{
	struct step_result r = {0};
	double f = fanout();

	r.rate = opt->steps_are_dps ? step / f : step;
	r.target_dps = r.rate * f;
	reset_step();
	publish_window(r.rate, &r);
	report_step(&r);
	return r.lost || !r.dps ? UINT64_MAX : hist__quantile(&stats.lat, 0.99);
}

/* ---- the run ------------------------------------------------------------------------ */

static int open_publisher(void)
{
	uint64_t deadline = mono_ns() + 10 * NS;

	pub.fd = -1;
	pub.mode = MODE_PUB;
	if (conn__open(&pub))
		return -1;
	while (pub.state != ST_READY && mono_ns() < deadline)
		conn__poll(mono_ns() + NS / 20);
	return pub.state == ST_READY ? 0 : -1;
}

/*
 * Two ceilings: the highest step with p99 within --stop-p99-ms and no loss,
 * and the highest sustained one (no loss, p99 within 10 times that, so the
 * queues did not grow without bound). Steps stop past the second.
 */
static void run_steps(void)
{
	double dps, best = 0, sustained = 0, limit = opt->stop_p99_ms * 1e6;
	uint32_t i, every;
	uint64_t p99;
	int s;

	if (open_publisher()) {
		fprintf(stderr, "rtg-bench: the publisher could not connect to %s:%d\n",
			cfg->pub_host, cfg->pub_port);
		exit(EXIT_FAILURE);
	}
	every = opt->slow_pct ? 100 / opt->slow_pct : 0;
	for (i = 0; every && i < opt->conns; i += every) {
		conns[i].slow = true;
		conn__stall(&conns[i]);
	}
	for (s = 0; s < opt->nsteps; s++) {
		p99 = run_step(opt->steps[s]);
		dps = (double)stats.rx_window / opt->duration;
		if (limit > 0 && (double)p99 > 10 * limit)
			break;
		if ((double)p99 <= limit && dps > best)
			best = dps;
		if (dps > sustained)
			sustained = dps;
	}
	if (limit > 0)
		printf("ceiling label=%s mode=%s conns=%u max_dps=%.0f sustained_dps=%.0f "
		       "stopped=%s\n",
			opt->label, mode_name(), opt->conns, best, sustained,
			s < opt->nsteps ? "yes" : "no");
}

int run__all(const struct bench_cfg *c, const struct run_opts *o)
{
	long rss0;
	long long kern0;

	cfg = c;
	opt = o;
	conns = calloc(o->conns, sizeof(*conns));
	pub_in_window = calloc(o->topics, sizeof(*pub_in_window));
	topic_seq = calloc(o->topics, sizeof(*topic_seq));
	if (!conns || !pub_in_window || !topic_seq)
		return -1;
	for (uint32_t i = 0; i < o->conns; i++)
		assign_topics(&conns[i], i);
	rss0 = o->server_pid ? proc_status_kib(o->server_pid, "VmRSS:") : -1;
	kern0 = kernel_bytes();
	if (connect_all())
		return -1;
	hold(o->hold);
	report_idle(rss0, kern0);
	if (o->nsteps)
		run_steps();
	return 0;
}
