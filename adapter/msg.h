/*
 * msg.h - outgoing messages, encoded once and shared by every session.
 *
 * An MQTT message becomes one JSON text (the payload object with "topic",
 * "seq" and "epoch" added, or a {"type":"message",...} wrapper for non-JSON
 * payloads) in a buffer with LWS_PRE bytes of headroom, so its WebSocket
 * frame header goes in place once (msg__ws_frame) for any number of clients. The SSE form
 * ("id:/event:/data:") is built on first use and kept. Reference counted;
 * the history ring and each session queue hold references. lws thread only.
 */
#ifndef RTG_ADAPTER_MSG_H
#define RTG_ADAPTER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct out_msg {
	unsigned refs;
	uint64_t seq; /* per-topic sequence number; 0 for control messages */
	uint64_t gseq; /* adapter-wide sequence number (SSE ids); 0 for control messages */
	char *topic; /* NULL for control messages */
	char *type; /* the message "type" (SSE event name); never NULL */
	char *ntype; /* the payload's "notification_type", or NULL */
	bool retained; /* arrived with the retain flag (a retained value) */
	bool final; /* the payload's "status" is "completed" or "failed" (calculations) */
	size_t len; /* JSON text length, without LWS_PRE and the NUL */
	unsigned char *buf; /* LWS_PRE bytes, then the JSON text, then a NUL */
	unsigned char ws_hlen; /* WebSocket frame header length, 0 until built */
	size_t sse_len; /* SSE event length, 0 until built */
	unsigned char *sse; /* LWS_PRE bytes, then "id: ..\nevent: ..\ndata: ..\n\n", or NULL */
	size_t payload_len; /* the original MQTT payload, kept for retained-duplicate checks */
	unsigned char *payload;
};

/** The JSON text of a message: m->buf + LWS_PRE. */
#define MSG_TEXT(m) ((char *)(m)->buf + LWS_PRE)

/**
 * Makes the outgoing form of an MQTT message. A payload that is a JSON object
 * gets "topic", "seq" and "epoch" set (replacing any it had); any other payload
 * is wrapped as {"type":"message","topic":..,"seq":..,"epoch":..,"payload":..}
 * where payload is the JSON value if the bytes are valid UTF-8 and parse as
 * exactly one JSON value, else a string (each invalid UTF-8 byte, and NUL,
 * replaced by U+FFFD; an empty payload gives ""). "type" defaults to
 * "message" when the object has no non-empty string "type".
 * @return a message with one reference, or NULL on out of memory
 */
struct out_msg *msg__from_mqtt(const char *topic, const void *payload, size_t len,
	const char *epoch, uint64_t seq, uint64_t gseq, bool retained);

/**
 * Makes a control message (pong, subscription, history, error...) by printing
 * @p obj. @p obj is not freed (the caller still owns it). Its "type" member
 * names the SSE event.
 * @return a message with one reference, or NULL on out of memory
 */
struct out_msg *msg__from_json(const cJSON *obj);

/** Adds a reference; returns @p m. */
struct out_msg *msg__ref(struct out_msg *m);

/** Drops a reference, freeing the message with the last one. NULL is a no-op. */
void msg__unref(struct out_msg *m);

/**
 * Returns the whole WebSocket frame of @p m (a final text frame, unmasked as
 * a server's are), its header written once into the LWS_PRE headroom just
 * before the JSON text, so every session shares it.
 * @param len set to the frame's length (header and text)
 * @return pointer to the frame, inside m->buf; valid while @p m is
 */
unsigned char *msg__ws_frame(struct out_msg *m, size_t *len);

/**
 * Returns the SSE form of @p m (building it on first use): "id: <id>\n" when
 * @p id is not NULL, "event: <type>\n", "data: <json>\n\n". The JSON text has
 * no newlines, so one data line suffices. CR/LF in the id or type become '_'.
 * The event is built once and kept: @p id is read only on the first call, so
 * every caller passes the same id for a given message (derived from gseq).
 * @param len set to the length after the LWS_PRE headroom (0 on error)
 * @return pointer to the LWS_PRE headroom (write from +LWS_PRE), or NULL on OOM
 */
unsigned char *msg__sse(struct out_msg *m, const char *id, size_t *len);

#endif /* RTG_ADAPTER_MSG_H */
