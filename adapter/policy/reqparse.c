/*
 * reqparse.c - pure string parsing of what the adapter reads from HTTP
 * requests itself: a cookie, a ?topic= argument, a Last-Event-ID. See reqparse.h.
 *
 * Everything else of a request (headers, URL decoding, the query string's
 * split into arguments) is lws's; auth.c and sse.c copy the strings out and
 * call these. Hostile input is the normal case here: every function reads
 * only up to the NUL and writes only within the buffer it was given. Any
 * thread (no state).
 */
#include <string.h>

#include "reqparse.h"

/* ---- Cookie ------------------------------------------------------------------------- */

/*
 * Our own parser rather than lws_http_cookie_get(), which logs the whole
 * header and with it the token. It reads the header in place (no copy, no
 * strtok), so a header of any length is fine.
 */
bool reqparse__cookie(const char *header, const char *name, char *buf, size_t len)
{
	size_t nl = strlen(name), vl;
	const char *p = header, *end;

	if (len)
		buf[0] = '\0';
	if (!nl || !len)
		return false;
	while (p && *p) {
		while (*p == ' ' || *p == '\t')
			p++;
		end = strchr(p, ';');
		if (!strncmp(p, name, nl) && p[nl] == '=') {
			p += nl + 1;
			vl = end ? (size_t)(end - p) : strlen(p);
			if (vl >= len)
				vl = len - 1; /* a token cut short fails verification */
			memcpy(buf, p, vl);
			buf[vl] = '\0';
			return vl > 0;
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* ---- SSE arguments ------------------------------------------------------- */

char *reqparse__topic_arg(char *arg)
{
	char *f, *c;

	if (strncmp(arg, "topic=", 6))
		return NULL;
	f = arg + 6;
	for (c = f; *c; c++) {
		if (*c == ' ' && (c == f || c[-1] == '/') && (c[1] == '/' || !c[1]))
			*c = '+';
	}
	return f;
}

/* ---- Last-Event-ID ------------------------------------------------------------------------ */

bool reqparse__event_id(const char *id, const char *epoch, uint64_t *gseq)
{
	size_t el = strlen(epoch), i;
	const char *d;
	uint64_t v = 0;

	*gseq = 0;
	if (!el || strncmp(id, epoch, el) || id[el] != '-')
		return false;
	d = id + el + 1;
	for (i = 0; d[i]; i++) {
		if (d[i] < '0' || d[i] > '9' || i >= 20)
			return false;
		if (v > (UINT64_MAX - (uint64_t)(d[i] - '0')) / 10)
			return false; /* does not fit: not an id this adapter gave */
		v = v * 10 + (uint64_t)(d[i] - '0');
	}
	if (!i)
		return false;
	*gseq = v;
	return true;
}
