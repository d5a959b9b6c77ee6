/*
 * jtext.h - JSON text surgery without re-encoding: walk the members of an
 * object text, compare a raw key with a name, and copy members (or a whole
 * value) into a growable buffer byte for byte, so that numbers such as
 * 1796161075629123436 or 1.50 go out exactly as they came in.
 *
 * The texts it walks are already known to be JSON (cJSON parsed them); the
 * walker stays inside the given bytes whatever they hold, but on anything else
 * it only promises not to crash. It does not parse numbers or build trees,
 * and it knows nothing of messages or sessions. Any thread; no global state.
 */
#ifndef RTG_ADAPTER_JTEXT_H
#define RTG_ADAPTER_JTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtg_err.h"

/*
 * A growable text buffer with optional headroom before the text (LWS_PRE for
 * a WebSocket frame header). Writes are chained without checks: the first
 * failure is kept in err and every later write does nothing, so a caller
 * checks once, at jtext__buf_take(). Caller-owned struct: jtext__buf_init()
 * then jtext__buf_take() or jtext__buf_cleanup(). The text is data + head,
 * len bytes (not NUL-terminated until taken).
 */
struct jtext_buf {
	char *data; /* NULL until the first write */
	size_t head; /* bytes of headroom before the text */
	size_t len; /* text length */
	size_t cap; /* bytes allocated after the headroom */
	enum rtg_err err; /* RTG_OK, RTG_ERR_NOMEM, or RTG_ERR_INVAL (see jtext__put_json) */
};

/* One member of an object text, as written: pointers into that text. */
struct jtext_member {
	const char *key; /* the key's bytes between its quotes, escapes undecoded */
	size_t key_len;
	const char *value; /* the value's bytes (a string keeps its quotes) */
	size_t value_len;
};

/* Walks the members of one object text; see jtext__members(). */
struct jtext_iter {
	const char *p;
	const char *end;
};

/* ---- the buffer ----------------------------------------------------------------------- */

/** Starts an empty buffer whose text will follow @p head bytes of headroom. Allocates nothing. */
void jtext__buf_init(struct jtext_buf *b, size_t head);

/** Frees what @p b holds and leaves it empty (err cleared). NULL data is fine. */
void jtext__buf_cleanup(struct jtext_buf *b);

/**
 * Hands the buffer to the caller: the block starts with the headroom, then the
 * text, then a NUL. @p b is left empty.
 * @param len set to the text length (0 on error)
 * @return the block, to free with free(); NULL if a write failed (b->err says
 *         why; the buffer is freed, err kept)
 */
char *jtext__buf_take(struct jtext_buf *b, size_t *len);

/**
 * Makes room for @p n more bytes at once (writes grow the buffer anyway: this
 * saves regrowing when the size is known).
 * @return true, or false if a write failed before or memory is short (err set)
 */
bool jtext__buf_reserve(struct jtext_buf *b, size_t n);

/** Appends @p n bytes as they are. */
void jtext__put(struct jtext_buf *b, const char *s, size_t n);

/** Appends @p v in decimal. */
void jtext__put_u64(struct jtext_buf *b, uint64_t v);

/**
 * Appends @p n bytes as one JSON string, quotes included, escaped as cJSON
 * prints (\" \\ \b \f \n \r \t, other control bytes as \u00xx). A byte that
 * does not start a well-formed UTF-8 sequence, and NUL, becomes U+FFFD, so any
 * bytes give valid JSON.
 */
void jtext__put_string(struct jtext_buf *b, const char *s, size_t n);

/**
 * Appends ",\"<key>\":" (the key escaped as by jtext__put_string), without
 * the comma when the text is empty or ends with '{': after jtext__copy_except()
 * or a "{", members are appended with it and need no bookkeeping.
 */
void jtext__put_key(struct jtext_buf *b, const char *key);

/**
 * Appends JSON text (known to parse with cJSON) byte for byte, except what
 * would stop it being one line of strict JSON: outside strings, control bytes
 * other than tab (CR, LF) become a space; inside strings, raw control bytes
 * (cJSON lets them through) become escapes. A number that cJSON reads but
 * RFC 8259 does not allow (01, 1., -.5), or a \u escape without four hex
 * digits (cJSON reads \u00.0 as \u0000), sets err to RTG_ERR_INVAL:
 * re-encoding is not this module's business, so the caller decides. Invalid UTF-8
 * inside strings becomes U+FFFD; the text is otherwise trusted to be JSON.
 */
void jtext__put_json(struct jtext_buf *b, const char *s, size_t n);

/**
 * Appends "{" and then the members of the object text @p obj whose keys are
 * none of @p keys (compared by jtext__key_is()), comma-separated, each copied
 * by jtext__put_json(), but not the closing brace: the caller appends members
 * with jtext__put_key() and closes with "}". An empty object, or one whose
 * members are all dropped, leaves "{". Sets err to RTG_ERR_INVAL if @p obj is
 * not an object text.
 */
void jtext__copy_except(
	struct jtext_buf *b, const char *obj, size_t len, const char *const *keys, size_t nkeys);

/* ---- walking ---------------------------------------------------------------------------- */

/**
 * Starts walking the members of the object text @p text (leading whitespace
 * and a UTF-8 byte order mark skipped, as cJSON does).
 * @return true, or false if the text does not start an object
 */
bool jtext__members(struct jtext_iter *it, const char *text, size_t len);

/**
 * Reads the next top-level member; nested objects, arrays and strings (escaped
 * quotes and brackets included) are skipped as a whole.
 * @return 1 with @p mem set, 0 at the closing brace, -1 if the text is broken
 */
int jtext__next(struct jtext_iter *it, struct jtext_member *mem);

/**
 * Returns true if the raw key bytes @p key (as in struct jtext_member) name
 * @p name, reading escapes as a JSON parser does ("\u0074ype" is "type",
 * surrogate pairs included). Like cJSON, whose keys are C strings, a \u0000
 * ends the key: "type\u0000x" is "type" to every cJSON reader, so it is here.
 */
bool jtext__key_is(const char *key, size_t key_len, const char *name);

/**
 * Returns the end of the JSON value starting at @p p (after leading
 * whitespace is skipped by the caller), or NULL if it runs past @p end.
 */
const char *jtext__value_end(const char *p, const char *end);

/** Returns true if the n bytes at @p s are well-formed UTF-8 without NUL bytes. */
bool jtext__utf8_valid(const void *s, size_t n);

/**
 * Returns true if every number in the JSON text (outside its strings) is an
 * RFC 8259 number: cJSON also reads 01, 1. and -.5 (with strtod()), which
 * the copies above refuse, so a payload must pass both to be spliced.
 */
bool jtext__numbers_ok(const char *text, size_t len);

/**
 * Returns true if the JSON text is one whole value (whitespace before it)
 * whose arrays and objects nest at most @p max deep, strings skipped; false
 * if deeper or cut short. cJSON refuses texts deeper than 1000, so a text
 * that will be wrapped in more levels is checked against less.
 */
bool jtext__depth_ok(const char *text, size_t len, unsigned max);

#endif /* RTG_ADAPTER_JTEXT_H */
