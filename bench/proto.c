/*
 * proto.c - the client side of the wire formats rtg-bench speaks: HTTP upgrade
 * and SSE requests, masked WebSocket frames, MQTT 3.1.1 CONNECT, SUBSCRIBE and
 * PUBLISH, and the bench payload (topic index, sequence, timestamp).
 *
 * Hand-written rather than libwebsockets/libmosquitto because the load tool
 * must not be the bottleneck: with 19,000 sockets in one thread and 10^6
 * messages a second, it encodes into caller buffers and never allocates per
 * message. It does not verify Sec-WebSocket-Accept, send MQTT QoS > 0, or
 * fragment frames; parsing of what servers send lives in conn.c.
 * Single-threaded.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define PAYLOAD_HEAD "{\"type\":\"bench\",\"k\":\""

/* ---- HTTP ----------------------------------------------------------------------- */

size_t proto__request(const struct conn *c, const struct bench_cfg *cfg, char *out, size_t cap)
{
	static const char upgrade[] = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
				      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				      "Sec-WebSocket-Version: 13\r\n";
	char topics[256] = "", name[96];
	size_t tl = 0;
	int n = 0, i;

	for (i = 0; i < c->ntopics && tl < sizeof(topics) - 1; i++) {
		bench__topic_name(c->topic[i], name, sizeof(name));
		n = snprintf(topics + tl, sizeof(topics) - tl, "%stopic=%s", i ? "&" : "", name);
		tl += n > 0 ? (size_t)n : 0;
	}
	switch (c->mode) {
	case MODE_WS:
		n = snprintf(out, cap, "GET /ws?token=%s HTTP/1.1\r\nHost: %s:%d\r\n%s\r\n",
			cfg->token, cfg->host, cfg->port, upgrade);
		break;
	case MODE_RAW_WS:
		n = snprintf(out, cap, "GET /?%s HTTP/1.1\r\nHost: %s:%d\r\n%s\r\n", topics,
			cfg->host, cfg->port, upgrade);
		break;
	case MODE_MQTT_WS:
		n = snprintf(out, cap,
			"GET %s HTTP/1.1\r\nHost: %s:%d\r\n%sSec-WebSocket-Protocol: mqtt\r\n\r\n",
			cfg->path, cfg->host, cfg->port, upgrade);
		break;
	case MODE_SSE:
		n = snprintf(out, cap,
			"GET /sse?%s&token=%s HTTP/1.1\r\nHost: %s:%d\r\n"
			"Accept: text/event-stream\r\n\r\n",
			topics, cfg->token, cfg->host, cfg->port);
		break;
	default:
		n = 0;
	}
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* ---- WebSocket ------------------------------------------------------------------- */

/*
 * A client frame must be masked (RFC 6455 5.3); the key need not be secret
 * here, only present, so a fixed one keeps the tool deterministic.
 */
size_t proto__ws_frame(uint8_t *out, size_t cap, int opcode, const void *p, size_t len)
{
	static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
	const uint8_t *src = p;
	size_t h = 2, i;

	if (len + 14 > cap)
		return 0;
	out[0] = (uint8_t)(0x80 | opcode);
	if (len < 126) {
		out[1] = (uint8_t)(0x80 | len);
	} else if (len < 65536) {
		out[1] = 0x80 | 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		h = 4;
	} else {
		out[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		h = 10;
	}
	memcpy(out + h, key, 4);
	h += 4;
	for (i = 0; i < len; i++)
		out[h + i] = src[i] ^ key[i & 3];
	return h + len;
}

/* ---- MQTT 3.1.1 ------------------------------------------------------------------ */

/* Writes the fixed header of a packet with remaining length rl; returns its size. */
static size_t mqtt_fixed(uint8_t *out, uint8_t type, size_t rl)
{
	size_t n = 1;

	out[0] = type;
	do {
		out[n] = (uint8_t)(rl & 0x7f);
		rl >>= 7;
		if (rl)
			out[n] |= 0x80;
		n++;
	} while (rl);
	return n;
}

static size_t mqtt_str(uint8_t *out, const char *s, size_t len)
{
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	memcpy(out + 2, s, len);
	return len + 2;
}

/* Clean session, keep-alive 0 (none: the bench sends nothing once subscribed). */
size_t proto__mqtt_connect(
	uint8_t *out, size_t cap, const char *id, const char *user, const char *pass)
{
	size_t il = strlen(id), ul = user ? strlen(user) : 0, pl = pass ? strlen(pass) : 0;
	size_t rl = 10 + 2 + il + (user ? 2 + ul : 0) + (pass ? 2 + pl : 0), n;
	uint8_t flags = 0x02;

	if (rl + 5 > cap)
		return 0;
	if (user)
		flags |= 0x80;
	if (pass)
		flags |= 0x40;
	n = mqtt_fixed(out, 0x10, rl);
	n += mqtt_str(out + n, "MQTT", 4);
	out[n++] = 4; /* protocol level 3.1.1 */
	out[n++] = flags;
	out[n++] = 0;
	out[n++] = 0;
	n += mqtt_str(out + n, id, il);
	if (user)
		n += mqtt_str(out + n, user, ul);
	if (pass)
		n += mqtt_str(out + n, pass, pl);
	return n;
}

size_t proto__mqtt_subscribe(uint8_t *out, size_t cap, uint16_t mid, const char *topic)
{
	size_t tl = strlen(topic), rl = 2 + 2 + tl + 1, n;

	if (rl + 5 > cap)
		return 0;
	n = mqtt_fixed(out, 0x82, rl);
	out[n++] = (uint8_t)(mid >> 8);
	out[n++] = (uint8_t)mid;
	n += mqtt_str(out + n, topic, tl);
	out[n++] = 0; /* QoS 0 */
	return n;
}

size_t proto__mqtt_publish(uint8_t *out, size_t cap, const char *topic, const void *p, size_t len)
{
	size_t tl = strlen(topic), rl = 2 + tl + len, n;

	if (rl + 5 > cap)
		return 0;
	n = mqtt_fixed(out, 0x30, rl);
	n += mqtt_str(out + n, topic, tl);
	memcpy(out + n, p, len);
	return n + len;
}

/* ---- the bench payload ----------------------------------------------------------- */

/*
 * Numbers travel as strings: the adapter re-encodes payloads with cJSON, which
 * holds numbers as doubles and prints 15 significant digits, too few for a
 * nanosecond timestamp. The fixed member order lets receivers parse by
 * position, without a JSON parser.
 */
/*
 * out must hold at least max(size, PAYLOAD_MIN) bytes: when the fields alone
 * are longer than size (sequence numbers grow), the payload is longer than
 * asked, never truncated (a truncated payload is not JSON, and the server
 * under test would forward it as something else).
 */
size_t proto__payload(char *out, size_t size, uint32_t k, uint64_t n, uint64_t ts)
{
	int h = snprintf(out, PAYLOAD_MIN,
		PAYLOAD_HEAD "%u\",\"n\":\"%llu\",\"ts\":\"%llu\",\"pad\":\"", k,
		(unsigned long long)n, (unsigned long long)ts);
	size_t len = h > 0 && h < PAYLOAD_MIN - 2 ? (size_t)h : 0;

	while (len + 2 < size)
		out[len++] = 'x';
	out[len++] = '"';
	out[len++] = '}';
	return len;
}

/* Parses the digits at *p (up to end) followed by '"'; advances *p past them. */
static bool digits(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	const uint8_t *s = *p;
	uint64_t x = 0;

	while (s < end && *s >= '0' && *s <= '9')
		x = x * 10 + (uint64_t)(*s++ - '0');
	if (s == *p || s >= end || *s != '"')
		return false;
	*v = x;
	*p = s + 1;
	return true;
}

static bool literal(const uint8_t **p, const uint8_t *end, const char *lit, size_t len)
{
	if ((size_t)(end - *p) < len || memcmp(*p, lit, len))
		return false;
	*p += len;
	return true;
}

bool proto__parse_payload(const uint8_t *p, size_t len, uint32_t *k, uint64_t *n, uint64_t *ts)
{
	const uint8_t *end = p + len;
	uint64_t kk;

	if (!literal(&p, end, PAYLOAD_HEAD, sizeof(PAYLOAD_HEAD) - 1) || !digits(&p, end, &kk) ||
		!literal(&p, end, ",\"n\":\"", 6) || !digits(&p, end, n) ||
		!literal(&p, end, ",\"ts\":\"", 7) || !digits(&p, end, ts))
		return false;
	*k = (uint32_t)kk;
	return true;
}
