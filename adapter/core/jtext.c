/*
 * jtext.c - JSON text surgery without re-encoding (jtext.h): a growable
 * buffer, a walker over an object's top-level members, key comparison with
 * escapes decoded, and copies that keep the publisher's bytes.
 *
 * It parses no number and builds no tree (cJSON parsed the texts before): it
 * only checks what cJSON lets through and strict JSON does not (raw control
 * bytes, lax numbers), and knows nothing of what members mean. Any thread.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "jtext.h"

/* U+FFFD REPLACEMENT CHARACTER, in UTF-8 */
#define REPLACEMENT "\xEF\xBF\xBD"
#define REPLACEMENT_LEN 3
/* The longest output for one input byte: \u00xx */
#define ESCAPE_MAX 6
/* Sizes beyond this are refused before any arithmetic can overflow. */
#define SIZE_LIMIT (SIZE_MAX / 8)

/* ---- UTF-8 ------------------------------------------------------------------------------- */

/*
 * Returns the length (1 to 4) of the well-formed UTF-8 sequence that starts
 * at s, or 0 if the bytes at s do not start one (stray continuation byte,
 * overlong form, surrogate, code point above U+10FFFF, or a sequence cut
 * short by the end). NUL counts as invalid: cJSON strings are C strings, so a
 * NUL would silently cut the text short.
 */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t need, i;

	if (s[0] < 0x80)
		return s[0] ? 1 : 0;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		need = 1;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		need = 2;
		lo = s[0] == 0xE0 ? 0xA0 : 0x80; /* overlong */
		hi = s[0] == 0xED ? 0x9F : 0xBF; /* surrogates */
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		need = 3;
		lo = s[0] == 0xF0 ? 0x90 : 0x80; /* overlong */
		hi = s[0] == 0xF4 ? 0x8F : 0xBF; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n <= need || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i <= need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	}
	return need + 1;
}

bool jtext__utf8_valid(const void *s, size_t n)
{
	const unsigned char *u = s;
	size_t i = 0, k;

	while (i < n) {
		/* ASCII but NUL, the common case, without a call */
		k = u[i] - 1u < 0x7F ? 1 : utf8_seq_len(u + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

/* Writes code point cp (at most U+10FFFF) as UTF-8 to out; returns its length. */
static size_t utf8_put(unsigned char *out, unsigned long cp)
{
	static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
	size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4, i;

	for (i = n - 1; i > 0; i--, cp >>= 6)
		out[i] = (unsigned char)(0x80 | (cp & 0x3F));
	out[0] = (unsigned char)(lead[n] | cp);
	return n;
}

/* ---- the buffer ---------------------------------------------------------------------------- */

void jtext__buf_init(struct jtext_buf *b, size_t head)
{
	memset(b, 0, sizeof(*b));
	b->head = head;
}

void jtext__buf_cleanup(struct jtext_buf *b)
{
	free(b->data);
	jtext__buf_init(b, b->head); /* the argument is read before the struct is cleared */
}

static void set_err(struct jtext_buf *b, enum rtg_err err)
{
	if (!b->err)
		b->err = err;
}

bool jtext__buf_reserve(struct jtext_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->err)
		return false;
	if (b->data && n < b->cap - b->len)
		return true;
	if (n > SIZE_LIMIT || b->len > SIZE_LIMIT || b->head > SIZE_LIMIT) {
		set_err(b, RTG_ERR_NOMEM);
		return false;
	}
	/* the first size as asked (jtext__buf_reserve() hints it), then doubling */
	need = b->len + n + 1;
	cap = b->cap * 2 > need ? b->cap * 2 : need;
	if (cap < 32)
		cap = 32;
	p = realloc(b->data, b->head + cap);
	if (!p) {
		set_err(b, RTG_ERR_NOMEM);
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

/*
 * The block goes to the caller shrunk to fit when more than a quarter of it
 * would be spare: messages live in the history for long, by the thousand.
 */
char *jtext__buf_take(struct jtext_buf *b, size_t *len)
{
	enum rtg_err err;
	char *p;

	*len = 0;
	if (!jtext__buf_reserve(b, 0)) {
		err = b->err;
		jtext__buf_cleanup(b);
		b->err = err;
		return NULL;
	}
	p = b->data;
	p[b->head + b->len] = '\0';
	if (b->cap - b->len > 64 && b->cap - b->len > b->cap / 4) {
		p = realloc(b->data, b->head + b->len + 1);
		if (!p)
			p = b->data;
	}
	*len = b->len;
	jtext__buf_init(b, b->head);
	return p;
}

/* Where the next text byte goes, once there is room. */
static char *text_end(const struct jtext_buf *b)
{
	return b->data + b->head + b->len;
}

void jtext__put(struct jtext_buf *b, const char *s, size_t n)
{
	if (!n || !jtext__buf_reserve(b, n))
		return;
	memcpy(text_end(b), s, n);
	b->len += n;
}

void jtext__put_u64(struct jtext_buf *b, uint64_t v)
{
	char digits[20], *p = digits + sizeof(digits);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	jtext__put(b, p, (size_t)(digits + sizeof(digits) - p));
}

/* An ASCII byte that goes into a JSON string as it is. */
static bool plain_string_byte(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/*
 * Writes, for the input byte c with rest bytes of input left from it, its
 * escape as cJSON prints it (valid: c is '"', '\\' or a control byte) or
 * U+FFFD (not valid: c starts no UTF-8 sequence), first making room for that
 * and for the rest and a closing quote. Returns the new end, or NULL (err set).
 */
static char *put_special(struct jtext_buf *b, char *o, unsigned char c, bool valid, size_t rest)
{
	static const char hex[] = "0123456789abcdef";
	static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
	const char *e = c ? memchr(from, c, sizeof(from) - 1) : NULL;

	b->len = (size_t)(o - (b->data + b->head));
	if (!jtext__buf_reserve(b, rest + ESCAPE_MAX + 1))
		return NULL;
	o = text_end(b);
	if (!valid)
		return (char *)memcpy(o, REPLACEMENT, REPLACEMENT_LEN) + REPLACEMENT_LEN;
	*o++ = '\\';
	if (e) {
		*o++ = to[e - from];
		return o;
	}
	memcpy(o, "u00", 3);
	o[3] = hex[c >> 4];
	o[4] = hex[c & 15];
	return o + 5;
}

void jtext__put_string(struct jtext_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;
	char *o;

	if (!jtext__buf_reserve(b, n > SIZE_LIMIT ? n : n + 2))
		return;
	o = text_end(b);
	*o++ = '"';
	while (i < n) {
		if (plain_string_byte(u[i])) {
			*o++ = (char)u[i++];
			continue;
		}
		k = utf8_seq_len(u + i, n - i);
		if (k > 1) {
			memcpy(o, u + i, k);
			o += k;
			i += k;
			continue;
		}
		o = put_special(b, o, u[i], k, n - i);
		if (!o)
			return;
		i++;
	}
	*o++ = '"';
	b->len = (size_t)(o - (b->data + b->head));
}

void jtext__put_key(struct jtext_buf *b, const char *key)
{
	if (b->len && !b->err && b->data[b->head + b->len - 1] != '{')
		jtext__put(b, ",", 1);
	jtext__put_string(b, key, strlen(key));
	jtext__put(b, ":", 1);
}

/* ---- copies of JSON text ------------------------------------------------------------------- */

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* The bytes cJSON hands to strtod() as one number. */
static bool is_number_byte(unsigned char c)
{
	return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Returns the index of the first byte from i (before run) that is no digit. */
static size_t skip_digits(const unsigned char *s, size_t i, size_t run)
{
	while (i < run && is_digit(s[i]))
		i++;
	return i;
}

/*
 * Returns the length of the number at s if the whole run of number bytes
 * there is an RFC 8259 number (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?),
 * else 0. cJSON reads the run with strtod(), which also takes 01, 1. and -.5.
 */
static size_t number_len(const unsigned char *s, size_t n)
{
	size_t run = 0, i = 0, j;

	while (run < n && is_number_byte(s[run]))
		run++;
	i += s[0] == '-';
	j = skip_digits(s, i, run);
	if (j == i || (s[i] == '0' && j > i + 1))
		return 0; /* no integer part, or a leading zero */
	i = j;
	if (i < run && s[i] == '.') {
		j = skip_digits(s, ++i, run);
		if (j == i)
			return 0;
		i = j;
	}
	if (i < run && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < run && (s[i] == '+' || s[i] == '-'))
			i++;
		j = skip_digits(s, i, run);
		if (j == i)
			return 0;
		i = j;
	}
	return i == run ? run : 0;
}

/* Reads 4 hex digits; returns their value, or -1. */
static long hex4(const unsigned char *p)
{
	long v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		if (!isxdigit(p[i]))
			return -1;
		v = v << 4 | (is_digit(p[i]) ? p[i] - '0' : (p[i] | 0x20) - 'a' + 10);
	}
	return v;
}

/*
 * Copies the string byte at u[*i] (inside a string, not the closing quote):
 * a valid escape as it is (another sets err to RTG_ERR_INVAL), a raw control
 * byte escaped, invalid UTF-8 as U+FFFD. Returns the new end, or NULL (err set).
 */
static char *put_string_byte(
	struct jtext_buf *b, char *o, const unsigned char *u, size_t n, size_t *i)
{
	size_t k = u[*i] >= 0x80 ? utf8_seq_len(u + *i, n - *i) : 1;

	if (u[*i] == '\\') {
		/* cJSON reads a \u with bad hex digits as \u0000: JSON does not */
		k = n - *i >= 2 && u[*i + 1] && strchr("\"\\/bfnrt", u[*i + 1]) ? 2 : 6;
		if (k == 6 && (n - *i < 6 || u[*i + 1] != 'u' || hex4(u + *i + 2) < 0)) {
			set_err(b, RTG_ERR_INVAL);
			return NULL;
		}
	}
	if (k && u[*i] >= 0x20) {
		memcpy(o, u + *i, k);
		*i += k;
		return o + k;
	}
	o = put_special(b, o, u[*i], k, n - *i);
	(*i)++;
	return o;
}

void jtext__put_json(struct jtext_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	bool in_string = false;
	size_t i = 0, k;
	char *o;

	if (!n || !jtext__buf_reserve(b, n))
		return;
	o = text_end(b);
	while (i < n) {
		while (in_string && i < n && plain_string_byte(u[i]))
			*o++ = (char)u[i++];
		if (i == n)
			break;
		if (in_string && u[i] != '"') {
			o = put_string_byte(b, o, u, n, &i);
			if (!o)
				return;
			continue;
		}
		if (u[i] == '-' || is_digit(u[i])) {
			k = number_len(u + i, n - i);
			if (!k)
				break;
			memcpy(o, u + i, k);
			o += k;
			i += k;
			continue;
		}
		if (u[i] == '"')
			in_string = !in_string;
		/* a raw newline can only be whitespace here, and one line carries the text */
		*o++ = u[i] < 0x20 && u[i] != '\t' ? ' ' : (char)u[i];
		i++;
	}
	b->len = (size_t)(o - (b->data + b->head));
	if (i < n)
		set_err(b, RTG_ERR_INVAL);
}

void jtext__copy_except(
	struct jtext_buf *b, const char *obj, size_t len, const char *const *keys, size_t nkeys)
{
	struct jtext_iter it;
	struct jtext_member m;
	bool first = true;
	size_t i;
	int r;

	jtext__put(b, "{", 1);
	if (!jtext__members(&it, obj, len)) {
		set_err(b, RTG_ERR_INVAL);
		return;
	}
	while ((r = jtext__next(&it, &m)) > 0) {
		for (i = 0; i < nkeys && !jtext__key_is(m.key, m.key_len, keys[i]); i++)
			;
		if (i < nkeys)
			continue;
		if (!first)
			jtext__put(b, ",", 1);
		first = false;
		/* the member from its key's opening quote to its value's last byte */
		jtext__put_json(b, m.key - 1, (size_t)(m.value + m.value_len - (m.key - 1)));
	}
	if (r < 0)
		set_err(b, RTG_ERR_INVAL);
}

/* ---- walking ------------------------------------------------------------------------------- */

/* Skips what cJSON skips before a value: a byte order mark, then every byte up to the space. */
static const char *skip_space(const char *p, const char *end)
{
	if (end - p >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
		p += 3;
	while (p < end && (unsigned char)*p <= ' ')
		p++;
	return p;
}

/* p is at an opening quote: returns the byte after the closing one, or NULL. */
static const char *string_end(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '"')
			return p + 1;
		if (*p == '\\' && end - p < 2)
			return NULL;
		if (*p == '\\')
			p++; /* the escaped byte, a quote maybe */
	}
	return NULL;
}

/* As jtext__value_end(), but also NULL for arrays and objects nesting more than max deep. */
static const char *value_end(const char *p, const char *end, unsigned long max)
{
	unsigned long depth = 0;

	if (p < end && *p == '"')
		return string_end(p, end);
	if (p < end && *p != '{' && *p != '[') {
		/* a number or a literal: up to what ends a token */
		while (p < end && (unsigned char)*p > ' ' && *p != ',' && *p != '}' && *p != ']')
			p++;
		return p;
	}
	while (p && p < end) {
		if (*p == '"') {
			p = string_end(p, end);
			continue;
		}
		if ((*p == '{' || *p == '[') && ++depth > max)
			return NULL;
		if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
		p++;
	}
	return NULL;
}

const char *jtext__value_end(const char *p, const char *end)
{
	return value_end(p, end, (unsigned long)-1);
}

bool jtext__numbers_ok(const char *text, size_t len)
{
	const unsigned char *u = (const unsigned char *)text;
	bool in_string = false;
	size_t i = 0, k;

	while (i < len) {
		if (in_string) {
			if (u[i] == '\\')
				i++; /* the escaped byte cannot end the string */
			else if (u[i] == '"')
				in_string = false;
			i++;
		} else if (u[i] == '"') {
			in_string = true;
			i++;
		} else if (u[i] == '-' || is_digit(u[i])) {
			k = number_len(u + i, len - i);
			if (!k)
				return false;
			i += k;
		} else {
			i++;
		}
	}
	return true;
}

bool jtext__depth_ok(const char *text, size_t len, unsigned max)
{
	const char *end = text + len, *p = skip_space(text, end);

	return value_end(p, end, max) != NULL;
}

bool jtext__members(struct jtext_iter *it, const char *text, size_t len)
{
	const char *p = len ? skip_space(text, text + len) : NULL;

	it->p = it->end = NULL;
	if (!p || p == text + len || *p != '{')
		return false;
	it->p = p + 1;
	it->end = text + len;
	return true;
}

int jtext__next(struct jtext_iter *it, struct jtext_member *mem)
{
	const char *end = it->end, *p, *q;

	if (!it->p)
		return -1;
	p = skip_space(it->p, end);
	if (p < end && *p == ',')
		p = skip_space(p + 1, end);
	if (p < end && *p == '}')
		return 0;
	if (p >= end || *p != '"')
		return -1;
	q = string_end(p, end);
	if (!q)
		return -1;
	mem->key = p + 1;
	mem->key_len = (size_t)(q - 1 - mem->key);
	p = skip_space(q, end);
	if (p >= end || *p != ':')
		return -1;
	p = skip_space(p + 1, end);
	q = jtext__value_end(p, end);
	if (!q || q == p)
		return -1;
	mem->value = p;
	mem->value_len = (size_t)(q - p);
	it->p = q;
	return 1;
}

/*
 * Decodes the escape at *pp (a backslash) into out (up to 4 UTF-8 bytes) and
 * moves *pp past it. Returns the number of bytes, or 0 if it is broken.
 */
static size_t decode_escape(const unsigned char **pp, const unsigned char *end, unsigned char *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const unsigned char *p = *pp;
	const char *e;
	long cp, lo;

	if (end - p < 2)
		return 0;
	e = p[1] ? memchr(from, p[1], sizeof(from) - 1) : NULL;
	if (e) {
		out[0] = (unsigned char)to[e - from];
		*pp = p + 2;
		return 1;
	}
	if (p[1] != 'u' || end - p < 6 || (cp = hex4(p + 2)) < 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
		return 0;
	p += 6;
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
			return 0;
		lo = hex4(p + 2);
		if (lo < 0xDC00 || lo > 0xDFFF)
			return 0;
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		p += 6;
	}
	*pp = p;
	return utf8_put(out, (unsigned long)cp);
}

bool jtext__key_is(const char *key, size_t key_len, const char *name)
{
	const unsigned char *k = (const unsigned char *)key, *end = k + key_len;
	const unsigned char *nm = (const unsigned char *)name;
	unsigned char u[4];
	size_t n, i;

	if (!key_len || !memchr(key, '\\', key_len))
		return strlen(name) == key_len && !memcmp(key, name, key_len);
	while (k < end) {
		if (*k == '\\') {
			n = decode_escape(&k, end, u);
			if (!n)
				return false;
		} else {
			u[0] = *k++;
			n = 1;
		}
		for (i = 0; i < n; i++) {
			if (!u[i])
				return !*nm; /* a C string ends here */
			if (*nm++ != u[i])
				return false;
		}
	}
	return !*nm;
}
