/*
 * bench.h - rtg-bench, the fan-out load client: shared types and the functions
 * that cross its files (proto.c: wire formats, conn.c: connections and the
 * epoll loop, hist.c: latency histogram, main.c: options, phases, report).
 *
 * Single-threaded: everything runs in the one epoll loop of main.c.
 */
#ifndef RTG_BENCH_H
#define RTG_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- latency histogram (hist.c) ------------------------------------------------- */

/* Log-linear buckets: 64 per power of two, so every value is within 1/64 (1.6 %). */
#define HIST_SUB_BITS 6
#define HIST_SUB (1 << HIST_SUB_BITS)
#define HIST_BUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t count;
	uint64_t max;
	uint64_t b[HIST_BUCKETS];
};

void hist__reset(struct hist *h);
void hist__add(struct hist *h, uint64_t v);
/* The value at quantile q (0..1), the midpoint of its bucket; 0 when empty. */
uint64_t hist__quantile(const struct hist *h, double q);

/* ---- connections (conn.c) --------------------------------------------------------- */

enum bench_mode {
	MODE_WS, /* adapter JSON WebSocket: /ws?token=, subscribe messages */
	MODE_SSE, /* adapter SSE: /sse?topic=..&token= */
	MODE_MQTT, /* MQTT 3.1.1 over TCP */
	MODE_MQTT_WS, /* MQTT 3.1.1 over WebSocket (subprotocol "mqtt") */
	MODE_RAW_WS, /* a plain broadcast WebSocket server: /?topic=.. (bench/peers) */
	MODE_PUB, /* the publisher: MQTT over TCP */
};

enum conn_state {
	ST_FREE,
	ST_CONNECTING, /* TCP connect in progress */
	ST_HTTP, /* upgrade or SSE request sent, reading the response headers */
	ST_MQTT_CONNECT, /* CONNECT sent, waiting for CONNACK */
	ST_SUBSCRIBING, /* subscribe sent, waiting for the confirmations */
	ST_READY, /* receiving */
	ST_CLOSED, /* closed by the peer or an error */
};

/* A byte stream reassembled across reads; empty (len 0) in the common case. */
struct stream {
	uint8_t *buf;
	uint32_t len;
	uint32_t cap;
};

#define CONN_TOPICS 2

struct conn {
	int fd;
	uint8_t mode; /* enum bench_mode */
	uint8_t state; /* enum conn_state */
	bool slow; /* stops reading once everybody is ready */
	bool churned; /* reconnected during the run: not counted for losses */
	uint8_t ntopics;
	uint8_t acks; /* subscriptions confirmed */
	uint32_t topic[CONN_TOPICS]; /* topic indexes */
	uint64_t last_n[CONN_TOPICS];
	uint64_t rx_window; /* bench messages received whose timestamp is in the window */
	uint64_t t_start; /* when connect() was called, ns */
	struct stream in; /* bytes of an incomplete frame / packet / line */
	struct stream sub; /* MQTT over WS: MQTT bytes of an incomplete packet */
	struct stream out; /* bytes the socket did not take yet */
};

/* What a run needs to know; set from the command line (main.c). */
struct bench_cfg {
	enum bench_mode mode;
	const char *host;
	int port;
	const char *path; /* MQTT over WS path, default /mqtt */
	const char *token;
	const char *user;
	const char *topic_prefix;
	uint32_t nsrc; /* source addresses 127.0.0.2 .. 127.0.0.(1+nsrc) */
	/* the publisher */
	const char *pub_host;
	int pub_port;
	const char *pub_token;
	const char *pub_user;
	uint32_t payload;
};

/* Counters of the whole run, kept by conn.c, read and reset by main.c. */
struct bench_stats {
	uint64_t win_start, win_end; /* measurement window, CLOCK_MONOTONIC ns */
	struct hist lat; /* latencies of the counted connections */
	struct hist lat_churn; /* latencies on churned connections */
	uint64_t rx; /* bench messages received (all) */
	uint64_t rx_window; /* ... with timestamp in the window */
	uint64_t dups; /* sequence numbers not above the previous one */
	uint64_t other; /* other messages (confirmations, history, ...) */
	uint64_t ready; /* connections ready */
	uint64_t closed; /* connections closed by the peer or errors */
	uint64_t errors;
	uint64_t churn_done; /* reconnections that got ready */
	uint64_t churn_ns; /* sum of their connect-to-ready times */
};

extern struct bench_stats stats;
extern uint64_t now_ns; /* CLOCK_MONOTONIC at the last wake-up of the loop */

uint64_t mono_ns(void);

int conn__loop_init(const struct bench_cfg *cfg);
/* Starts connecting c (already filled with mode and topics). Returns 0 or -1. */
int conn__open(struct conn *c);
void conn__close(struct conn *c);
/* Stops reading c: the kernel buffers fill up and the server sees a slow client. */
void conn__stall(struct conn *c);
/* Waits for events until deadline_ns (at most); handles them. */
void conn__poll(uint64_t deadline_ns);
/* Writes len bytes to c, keeping what the socket did not take. Returns 0 or -1. */
int conn__send(struct conn *c, const void *p, size_t len);

/* ---- wire formats (proto.c) ------------------------------------------------------ */

/* The request line and headers that open a connection of c's mode. */
size_t proto__request(const struct conn *c, const struct bench_cfg *cfg, char *out, size_t cap);
/* Appends a masked client WebSocket frame (opcode 1 text, 2 binary, 10 pong). */
size_t proto__ws_frame(uint8_t *out, size_t cap, int opcode, const void *p, size_t len);
size_t proto__mqtt_connect(
	uint8_t *out, size_t cap, const char *id, const char *user, const char *pass);
size_t proto__mqtt_subscribe(uint8_t *out, size_t cap, uint16_t mid, const char *topic);
size_t proto__mqtt_publish(uint8_t *out, size_t cap, const char *topic, const void *p, size_t len);
/* Room for the payload's fields whatever their values (out of proto__payload). */
#define PAYLOAD_MIN 160
/* Bytes of one bench payload: topic index k, sequence n, timestamp ts, padded to size. */
size_t proto__payload(char *out, size_t size, uint32_t k, uint64_t n, uint64_t ts);
/*
 * Reads k, n, ts from a bench payload (also with members the adapter appends).
 * Returns true if p starts with one.
 */
bool proto__parse_payload(const uint8_t *p, size_t len, uint32_t *k, uint64_t *n, uint64_t *ts);

/* ---- the run (main.c) ------------------------------------------------------------ */

/* Called by conn.c for every message a subscriber receives. */
void bench__on_message(struct conn *c, const uint8_t *p, size_t len);
/* Called by conn.c when c becomes ready, or is closed. */
void bench__on_ready(struct conn *c);
void bench__on_closed(struct conn *c);
/* The publisher's topic name for index k, into out. */
void bench__topic_name(uint32_t k, char *out, size_t cap);

#endif
