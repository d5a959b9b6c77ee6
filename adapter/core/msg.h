/*
 * msg.h - outgoing messages, encoded once and shared by every session.
 *
 * An MQTT message becomes one JSON text, the canonical form: the publisher's
 * JSON object spliced byte for byte with "topic", "seq" and "epoch" added (and
 * "type" when it has none), or a {"type":..,"message":..,"payload":..}
 * wrapper for other payloads, in a buffer with MSG_PRE bytes of headroom, so
 * its WebSocket frame header goes in place once (msg__ws_frame) for any number
 * of clients. The forms of other envelopes (docs/profiles.md, "Envelopes") and
 * the SSE events are built on first use and kept in the message. Reference
 * counted; the history ring and each session queue hold references. One
 * thread only.
 */
#ifndef RTG_ADAPTER_MSG_H
#define RTG_ADAPTER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/*
 * The headroom before every text a message holds: room for a WebSocket
 * frame's header (at most 10 bytes from a server) and what libwebsockets
 * asks before a buffer it writes (LWS_PRE, 16 in lws 4.1; transport/ws.c
 * checks the two agree when it is built).
 */
#define MSG_PRE 16

/*
 * How data messages are written for an endpoint (docs/profiles.md,
 * "Envelopes"): per message type, nested under a key or flat, and renamed or
 * not. Built by the profile parser (profile.c), which gives envelopes with the
 * same rules the same id; id 0 is the canonical form (flat, no renames, no
 * rules). Immutable once built.
 */
struct env_rule {
	char *type; /* a message type, or "*": every type without a rule of its own */
	char *nest; /* the key to nest the payload under, or NULL: flat */
	char *rename; /* the type to send instead, or NULL; never set on "*" */
};

struct envelope {
	uint32_t id; /* 0: canonical; else unique per distinct envelope, across reloads */
	struct env_rule *rules;
	size_t nrules;
};

struct msg_form; /* one envelope's form of a message (msg.c) */

struct out_msg {
	unsigned refs;
	uint64_t seq; /* per-topic sequence number; 0 for control messages */
	uint64_t gseq; /* adapter-wide sequence number (SSE ids); 0 for control messages */
	char *topic; /* NULL for control messages */
	char *type; /* the message "type" (SSE event name); never NULL */
	char *ntype; /* the payload's "notification_type", or NULL */
	bool retained; /* arrived with the retain flag (a retained value) */
	bool value; /* its topic holds a value (profile "topic ... value"): conflated */
	bool object; /* the payload is a JSON object (nested forms carry its bytes) */
	bool final; /* the payload's "status" is "completed" or "failed" (calculations) */
	size_t len; /* JSON text length, without MSG_PRE and the NUL */
	unsigned char *buf; /* MSG_PRE bytes, then the JSON text, then a NUL */
	unsigned char ws_hlen; /* WebSocket frame header length, 0 until built */
	unsigned char
		epoch_len; /* data messages: length of the epoch ending the text (msg__epoch) */
	size_t sse_len; /* SSE event length, 0 until built */
	unsigned char *sse; /* MSG_PRE bytes, then "id: ..\nevent: ..\ndata: ..\n\n", or NULL */
	size_t sse_unnamed_len; /* the same without the event: line */
	unsigned char *sse_unnamed;
	char *sse_id; /* the id every SSE event of this message carries (first call's) */
	bool sse_id_set; /* sse_id has been read (it may be NULL: no id line) */
	int64_t made_ms; /* when msg__from_mqtt() made it, ms since 1970 UTC (nested timestamp) */
	size_t tail; /* data messages: offset in the text of "topic":.., what every form ends with */
	struct msg_form *forms; /* the envelope forms built so far, nforms of them */
	size_t nforms;
	size_t payload_len; /* the original MQTT payload, kept for retained-duplicate checks */
	unsigned char *payload;
};

/** The JSON text of a message: m->buf + MSG_PRE. */
#define MSG_TEXT(m) ((char *)(m)->buf + MSG_PRE)

/**
 * Makes the outgoing form of an MQTT message. The canonical text is spliced,
 * never re-encoded (numbers stay as published):
 *  - a JSON object: its members as published, comma-joined (whitespace
 *    between members is not kept; inside them CR/LF become spaces and raw
 *    control bytes in strings are escaped), but those named "topic", "seq" or
 *    "epoch" (ours must be the only ones), then "type":T unless the object has
 *    a non-empty string "type" of its own (a "type" that is not one is
 *    dropped), then "topic", "seq", "epoch";
 *  - another JSON value: {"type":T,"payload":<its bytes>,"topic":..,"seq":..,
 *    "epoch":..} with "message":<the same> before "payload" when it is a string;
 *  - anything else (not valid UTF-8, not exactly one JSON value, what cJSON
 *    reads but strict JSON does not allow such as 01 or \u00.0, nesting over
 *    998 levels, empty): {"type":T,"message":"<text>","payload":"<text>",...}
 *    with each invalid UTF-8 byte and NUL replaced by U+FFFD.
 * T is the object's own string "type" if it has a non-empty one, else
 * @p default_type, else "message"; m->type is T.
 * @param default_type the topic's type from the profile, or NULL; copied
 * @param value the topic holds a value (kept in m->value)
 * @return a message with one reference, or NULL on out of memory
 */
struct out_msg *msg__from_mqtt(const char *topic, const void *payload, size_t len,
	const char *default_type, bool value, const char *epoch, uint64_t seq, uint64_t gseq,
	bool retained);

/**
 * Copies the epoch of data message @p m, the one its text carries, into
 * @p buf. It is the message's own: its topic's history may have restarted
 * under a new epoch since (history__unfollow()).
 * @return @p buf: "" for a control message; truncated to @p len - 1 bytes
 */
const char *msg__epoch(const struct out_msg *m, char *buf, size_t len);

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
 * a server's are), its header written once into the MSG_PRE headroom just
 * before the JSON text, so every session shares it.
 * @param len set to the frame's length (header and text)
 * @return pointer to the frame, inside m->buf; valid while @p m is
 */
unsigned char *msg__ws_frame(struct out_msg *m, size_t *len);

/**
 * Returns the SSE form of @p m (building it on first use): "id: <id>\n" when
 * @p id is not NULL, "event: <type>\n", "data: <json>\n\n". The JSON text has
 * no newlines, so one data line suffices. CR/LF in the id or type become '_'.
 * The event is built once and kept: the id is read only on the first call of
 * msg__sse() or msg__sse_env() for the message, and every SSE event of the
 * message carries that one, so every caller passes the same id for a given
 * message (derived from gseq).
 * @param len set to the length after the MSG_PRE headroom (0 on error)
 * @return pointer to the MSG_PRE headroom (write from +MSG_PRE), or NULL on OOM
 */
unsigned char *msg__sse(struct out_msg *m, const char *id, size_t *len);

/*
 * Envelope forms. A data message is written for an envelope by its rule for
 * m->type (else the "*" rule, else none): nested under the rule's key as
 * {"type":X,"<key>":<inner>,"timestamp":..,"topic":..,"seq":..,"epoch":..},
 * where <inner> is the payload object's bytes as published (CR/LF made
 * spaces) or, for other payloads, the canonical wrapper without topic/seq/
 * epoch, and "timestamp" is the payload's own top-level string "timestamp" or
 * else m->made_ms; or flat: the canonical text, with "type" replaced when the
 * rule renames it. X is the rule's rename, else m->type. Renaming applies to
 * the SSE event name too; nesting is decided on the original type. A NULL
 * envelope, id 0, a control message (msg__from_json) or an envelope with no
 * rule that changes this message's type all give the canonical form itself.
 * Each form is built on first use and kept in the message under the
 * envelope's id (ids are unique across profile reloads), so an envelope may
 * be freed while the message lives. Out of memory returns NULL: the caller
 * skips the message for that client.
 */

/**
 * Returns the JSON text of @p m in envelope @p env (NUL-terminated).
 * @param len set to its length (0 on error)
 * @return the text, valid while @p m is; NULL on out of memory
 */
const char *msg__text_env(struct out_msg *m, const struct envelope *env, size_t *len);

/**
 * Returns the whole WebSocket frame of @p m in envelope @p env, as
 * msg__ws_frame() does for the canonical form (which it is for env NULL).
 * @param len set to the frame's length (0 on error)
 * @return the frame, valid while @p m is; NULL on out of memory
 */
unsigned char *msg__ws_frame_env(struct out_msg *m, const struct envelope *env, size_t *len);

/**
 * Returns the SSE event of @p m in envelope @p env: as msg__sse() (which is
 * msg__sse_env(m, NULL, true, id, len)), with the event: line naming the
 * type the envelope sends when @p named, and no event: line (so the page's
 * EventSource.onmessage gets it) when not. Each variant is built once and kept.
 * @param id read on the first SSE call for @p m only (see msg__sse())
 * @param len set to the length after the MSG_PRE headroom (0 on error)
 * @return pointer to the MSG_PRE headroom (write from +MSG_PRE), valid while
 *         @p m is; NULL on out of memory
 */
unsigned char *msg__sse_env(
	struct out_msg *m, const struct envelope *env, bool named, const char *id, size_t *len);

#endif /* RTG_ADAPTER_MSG_H */
