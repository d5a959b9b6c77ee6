/*
 * conn.c - rtg-bench's connections: non-blocking connect from 127.0.0.x source
 * addresses, the opening handshake of each mode (HTTP upgrade, SSE request,
 * MQTT CONNECT/SUBSCRIBE), and the readers of what servers send: WebSocket
 * frames, SSE lines, MQTT packets (also MQTT inside WebSocket frames).
 *
 * Reads go into one shared buffer and are parsed in place; only the tail of an
 * incomplete frame is kept per connection, so no allocation happens per
 * message. It does not reassemble fragmented WebSocket messages (the servers
 * measured send each message in one frame) nor speak TLS. Single-threaded:
 * one epoll loop, driven by main.c through conn__poll().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define READ_BUF (256 * 1024)
#define MAX_UNIT (16 * 1024 * 1024) /* the largest frame, packet or line accepted */

struct bench_stats stats;
uint64_t now_ns;

static int ep = -1;
static const struct bench_cfg *cfg;
static uint8_t rbuf[READ_BUF];
static uint32_t next_src, next_id;

typedef long (*parse_fn)(struct conn *c, const uint8_t *p, size_t n);

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int conn__loop_init(const struct bench_cfg *c)
{
	cfg = c;
	ep = epoll_create1(EPOLL_CLOEXEC);
	return ep < 0 ? -1 : 0;
}

/* ---- buffers ------------------------------------------------------------------- */

static int stream_append(struct stream *s, const uint8_t *p, size_t n)
{
	uint8_t *nb;
	size_t cap = s->cap ? s->cap : 512;

	if (s->len + n > MAX_UNIT + READ_BUF)
		return -1;
	while (cap < s->len + n)
		cap *= 2;
	if (cap != s->cap) {
		nb = realloc(s->buf, cap);
		if (!nb)
			return -1;
		s->buf = nb;
		s->cap = (uint32_t)cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += (uint32_t)n;
	return 0;
}

static void stream_free(struct stream *s)
{
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
}

/*
 * Parses n new bytes with fn, after what s kept from before. The common case,
 * nothing kept, parses straight from the caller's buffer. Returns 0 or -1
 * (protocol error or peer closed: the caller closes c).
 */
static int stream_feed(struct conn *c, struct stream *s, const uint8_t *p, size_t n, parse_fn fn)
{
	long used;

	if (!s->len) {
		used = fn(c, p, n);
		if (used < 0)
			return -1;
		return (size_t)used < n ? stream_append(s, p + used, n - (size_t)used) : 0;
	}
	if (stream_append(s, p, n))
		return -1;
	used = fn(c, s->buf, s->len);
	if (used < 0)
		return -1;
	memmove(s->buf, s->buf + used, s->len - (size_t)used);
	s->len -= (uint32_t)used;
	if (!s->len && s->cap > 4096)
		stream_free(s); /* a large history frame passed: give the memory back */
	return 0;
}

static void set_events(struct conn *c, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = c};

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

int conn__send(struct conn *c, const void *p, size_t len)
{
	ssize_t w = 0;

	if (!c->out.len) {
		w = write(c->fd, p, len);
		if (w < 0 && errno != EAGAIN)
			return -1;
		if (w < 0)
			w = 0;
	}
	if ((size_t)w < len) {
		if (stream_append(&c->out, (const uint8_t *)p + w, len - (size_t)w))
			return -1;
		set_events(c, EPOLLIN | EPOLLOUT);
	}
	return 0;
}

/* MQTT bytes, inside a binary WebSocket frame when the mode says so. */
static int send_mqtt(struct conn *c, const uint8_t *p, size_t len)
{
	uint8_t f[1024];
	size_t n;

	if (c->mode != MODE_MQTT_WS)
		return conn__send(c, p, len);
	n = proto__ws_frame(f, sizeof(f), 2, p, len);
	return n ? conn__send(c, f, n) : -1;
}

/* ---- opening -------------------------------------------------------------------- */

int conn__open(struct conn *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
	bool pub = c->mode == MODE_PUB;
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!pub && cfg->nsrc) {
		/* Many source addresses: each has its own range of ephemeral ports. */
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		sa.sin_addr.s_addr = htonl(0x7f000002u + next_src++ % cfg->nsrc);
		if (bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
			goto fail;
	}
	sa.sin_port = htons((uint16_t)(pub ? cfg->pub_port : cfg->port));
	if (inet_pton(AF_INET, pub ? cfg->pub_host : cfg->host, &sa.sin_addr) != 1)
		goto fail;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS)
		goto fail;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e))
		goto fail;
	c->state = ST_CONNECTING;
	c->acks = 0;
	c->t_start = mono_ns();
	return 0;
fail:
	close(c->fd);
	c->fd = -1;
	return -1;
}

void conn__close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = ST_CLOSED;
	stream_free(&c->in);
	stream_free(&c->sub);
	stream_free(&c->out);
}

static void fail(struct conn *c)
{
	if (c->state == ST_CLOSED)
		return;
	conn__close(c);
	stats.closed++;
	bench__on_closed(c);
}

void conn__stall(struct conn *c)
{
	if (c->fd >= 0)
		set_events(c, 0);
}

static void become_ready(struct conn *c)
{
	c->state = ST_READY;
	bench__on_ready(c);
}

static int send_mqtt_connect(struct conn *c)
{
	uint8_t b[4096];
	char id[64];
	bool pub = c->mode == MODE_PUB;
	size_t n;

	snprintf(id, sizeof(id), "bench-%d-%u", (int)getpid(), next_id++);
	n = proto__mqtt_connect(b, sizeof(b), id, pub ? cfg->pub_user : cfg->user,
		pub ? cfg->pub_token : cfg->token);
	c->state = ST_MQTT_CONNECT;
	return n ? send_mqtt(c, b, n) : -1;
}

/* The TCP connection is up: send what opens this mode's session. */
static int on_connected(struct conn *c)
{
	char req[8192];
	size_t n;

	set_events(c, EPOLLIN);
	if (c->mode == MODE_MQTT || c->mode == MODE_PUB)
		return send_mqtt_connect(c);
	n = proto__request(c, cfg, req, sizeof(req));
	c->state = ST_HTTP;
	return n ? conn__send(c, req, n) : -1;
}

/* ---- the adapter's JSON and SSE ------------------------------------------------- */

static int send_ws_subscribes(struct conn *c)
{
	char msg[256], name[96];
	uint8_t f[512];
	size_t n;
	int i, len;

	for (i = 0; i < c->ntopics; i++) {
		bench__topic_name(c->topic[i], name, sizeof(name));
		len = snprintf(msg, sizeof(msg),
			"{\"type\":\"subscribe\",\"topic\":\"%s\",\"policy\":\"queue\"}", name);
		n = proto__ws_frame(f, sizeof(f), 1, msg, (size_t)len);
		if (!n || conn__send(c, f, n))
			return -1;
	}
	c->state = ST_SUBSCRIBING;
	return 0;
}

/* One adapter text message: a confirmation while subscribing, else data. */
static int on_text(struct conn *c, const uint8_t *p, size_t len)
{
	static const char sub[] = "{\"type\":\"subscription\"", err[] = "{\"type\":\"error\"";
	static bool told;

	if (c->state == ST_SUBSCRIBING && len > sizeof(sub) && !memcmp(p, sub, sizeof(sub) - 1)) {
		if (++c->acks >= c->ntopics)
			become_ready(c);
		return 0;
	}
	if (len > sizeof(err) && !memcmp(p, err, sizeof(err) - 1)) {
		if (!told)
			fprintf(stderr, "rtg-bench: server error: %.*s\n",
				(int)(len > 300 ? 300 : len), (const char *)p);
		told = true;
		stats.errors++;
		return 0;
	}
	bench__on_message(c, p, len);
	return 0;
}

/* One SSE line; returns its length with the newline, 0 if incomplete. */
static long parse_sse_line(struct conn *c, const uint8_t *p, size_t n)
{
	const uint8_t *nl = memchr(p, '\n', n);
	size_t len;

	if (!nl)
		return n > MAX_UNIT ? -1 : 0;
	len = (size_t)(nl - p);
	if (len > 6 && !memcmp(p, "data: ", 6))
		bench__on_message(c, p + 6, len - 6 - (p[len - 1] == '\r'));
	return (long)len + 1;
}

/* The response headers: 101 for WebSocket modes, 200 for SSE. */
static long parse_http(struct conn *c, const uint8_t *p, size_t n)
{
	const uint8_t *end = memmem(p, n, "\r\n\r\n", 4);
	bool sse = c->mode == MODE_SSE;

	if (!end)
		return n > 16384 ? -1 : 0;
	if (n < 12 || memcmp(p + 9, sse ? "200" : "101", 3)) {
		fprintf(stderr, "rtg-bench: refused: %.*s\n", (int)(memchr(p, '\r', n) - (void *)p),
			(const char *)p);
		stats.errors++;
		return -1;
	}
	if (sse && memmem(p, (size_t)(end - p), "chunked", 7))
		return -1; /* chunk framing is not parsed: it would corrupt data lines */
	if (c->mode == MODE_WS && send_ws_subscribes(c))
		return -1;
	if (c->mode == MODE_MQTT_WS && send_mqtt_connect(c))
		return -1;
	if (sse || c->mode == MODE_RAW_WS)
		become_ready(c);
	return end + 4 - p;
}

/* ---- MQTT ----------------------------------------------------------------------- */

static int on_mqtt_packet(struct conn *c, const uint8_t *p, size_t hdr, size_t rl)
{
	const uint8_t *v = p + hdr;
	uint8_t b[512];
	char name[96];
	size_t tl, off, n;
	int i;

	switch (p[0] >> 4) {
	case 2: /* CONNACK */
		if (rl < 2 || v[1] != 0)
			return -1;
		if (c->mode == MODE_PUB) {
			become_ready(c);
			return 0;
		}
		for (i = 0; i < c->ntopics; i++) {
			bench__topic_name(c->topic[i], name, sizeof(name));
			n = proto__mqtt_subscribe(b, sizeof(b), (uint16_t)(i + 1), name);
			if (!n || send_mqtt(c, b, n))
				return -1;
		}
		c->state = ST_SUBSCRIBING;
		return 0;
	case 9: /* SUBACK */
		if (rl < 3 || v[2] == 0x80)
			return -1;
		if (++c->acks >= c->ntopics)
			become_ready(c);
		return 0;
	case 3: /* PUBLISH */
		if (rl < 2)
			return -1;
		tl = (size_t)v[0] << 8 | v[1];
		off = 2 + tl + ((p[0] & 0x06) ? 2 : 0);
		if (off > rl)
			return -1;
		bench__on_message(c, v + off, rl - off);
		return 0;
	default:
		return 0;
	}
}

/* One MQTT packet; returns its length, 0 if incomplete, -1 on error. */
static long parse_mqtt(struct conn *c, const uint8_t *p, size_t n)
{
	size_t rl = 0, i;

	for (i = 1; i < 5; i++) {
		if (i >= n)
			return 0;
		rl |= (size_t)(p[i] & 0x7f) << (7 * (i - 1));
		if (!(p[i] & 0x80))
			break;
	}
	if (i == 5 || rl > MAX_UNIT)
		return -1;
	if (n < i + 1 + rl)
		return 0;
	if (on_mqtt_packet(c, p, i + 1, rl))
		return -1;
	return (long)(i + 1 + rl);
}

static long parse_mqtt_all(struct conn *c, const uint8_t *p, size_t n)
{
	size_t off = 0;
	long r;

	while (off < n) {
		r = parse_mqtt(c, p + off, n - off);
		if (r <= 0)
			return r < 0 ? -1 : (long)off;
		off += (size_t)r;
	}
	return (long)off;
}

/* ---- WebSocket frames ----------------------------------------------------------- */

static int on_frame(struct conn *c, int opcode, const uint8_t *p, size_t len)
{
	uint8_t f[256];
	size_t n;

	switch (opcode) {
	case 0: /* continuation: only MQTT over WS is a stream across frames */
	case 1:
	case 2:
		if (c->mode == MODE_MQTT_WS)
			return stream_feed(c, &c->sub, p, len, parse_mqtt_all);
		return on_text(c, p, len);
	case 8:
		return -1;
	case 9:
		n = proto__ws_frame(f, sizeof(f), 10, p, len > 125 ? 125 : len);
		return n ? conn__send(c, f, n) : -1;
	default:
		return 0;
	}
}

/*
 * One server frame (unmasked, but a mask is honoured); returns its length, 0
 * if incomplete. 16- and 64-bit lengths are read in network order.
 */
static long parse_ws(struct conn *c, const uint8_t *p, size_t n)
{
	size_t h = 2, len, i;
	uint8_t *pl;

	if (n < 2)
		return 0;
	len = p[1] & 0x7f;
	if (len == 126) {
		if (n < 4)
			return 0;
		len = (size_t)p[2] << 8 | p[3];
		h = 4;
	} else if (len == 127) {
		if (n < 10)
			return 0;
		for (len = 0, i = 2; i < 10; i++)
			len = len << 8 | p[i];
		h = 10;
	}
	if (len > MAX_UNIT)
		return -1;
	if (p[1] & 0x80)
		h += 4;
	if (n < h + len)
		return 0;
	if (p[1] & 0x80) {
		pl = (uint8_t *)p + h; /* our own read buffer: unmask in place */
		for (i = 0; i < len; i++)
			pl[i] ^= p[h - 4 + (i & 3)];
	}
	if (on_frame(c, p[0] & 0x0f, p + h, len))
		return -1;
	return (long)(h + len);
}

/* Everything that arrived, whatever the state; returns the bytes used. */
static long parse_all(struct conn *c, const uint8_t *p, size_t n)
{
	size_t off = 0;
	long r;

	while (off < n && c->state != ST_CLOSED) {
		if (c->state == ST_HTTP)
			r = parse_http(c, p + off, n - off);
		else if (c->mode == MODE_SSE)
			r = parse_sse_line(c, p + off, n - off);
		else if (c->mode == MODE_MQTT || c->mode == MODE_PUB)
			r = parse_mqtt(c, p + off, n - off);
		else
			r = parse_ws(c, p + off, n - off);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		off += (size_t)r;
	}
	return (long)off;
}

/* ---- events --------------------------------------------------------------------- */

static void on_writable(struct conn *c)
{
	ssize_t w;
	int err = 0;
	socklen_t el = sizeof(err);

	if (c->state == ST_CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) || err || on_connected(c))
			fail(c);
		return;
	}
	if (!c->out.len)
		return;
	w = write(c->fd, c->out.buf, c->out.len);
	if (w < 0) {
		if (errno != EAGAIN)
			fail(c);
		return;
	}
	memmove(c->out.buf, c->out.buf + w, c->out.len - (size_t)w);
	c->out.len -= (uint32_t)w;
	if (!c->out.len)
		set_events(c, EPOLLIN);
}

static void on_readable(struct conn *c)
{
	ssize_t r = read(c->fd, rbuf, sizeof(rbuf));

	now_ns = mono_ns(); /* the receive time of everything in this read */
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
		fail(c);
		return;
	}
	if (r > 0 && stream_feed(c, &c->in, rbuf, (size_t)r, parse_all))
		fail(c);
}

void conn__poll(uint64_t deadline_ns)
{
	struct epoll_event ev[256];
	struct timespec ts = {0, 0};
	uint64_t now = mono_ns();
	int n, i;

	if (deadline_ns > now) {
		ts.tv_sec = (time_t)((deadline_ns - now) / 1000000000ull);
		ts.tv_nsec = (long)((deadline_ns - now) % 1000000000ull);
	}
	n = epoll_pwait2(ep, ev, 256, &ts, NULL);
	now_ns = mono_ns();
	for (i = 0; i < n; i++) {
		struct conn *c = ev[i].data.ptr;

		if (c->state == ST_CLOSED)
			continue;
		if (ev[i].events & (EPOLLOUT | EPOLLERR))
			on_writable(c);
		if (c->state != ST_CLOSED && (ev[i].events & (EPOLLIN | EPOLLHUP)))
			on_readable(c);
	}
}
