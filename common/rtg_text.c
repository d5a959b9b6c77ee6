/*
 * rtg_text.c - the lines of the project's own text files; see rtg_text.h.
 *
 * Tabs and CRs count as blanks, which also lets mosquitto_validate_utf8() (it
 * refuses control characters) check the rest of the line. Any thread.
 */
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>

#include "rtg_text.h"

/* One line: its copy, cleaned and checked, handed to fn. */
static enum rtg_err one_line(
	const char *raw, size_t len, unsigned lineno, rtg_text_line_fn fn, void *arg)
{
	enum rtg_err rc;
	char *line, *c;

	if (len >= RTG_TEXT_LINE_MAX)
		return fn(arg, lineno, NULL, "line too long (64 KiB or more)");
	if (memchr(raw, '\0', len))
		return fn(arg, lineno, NULL, "NUL byte");
	line = strndup(raw, len);
	if (!line)
		return RTG_ERR_NOMEM;
	for (c = line; *c; c++) {
		if (*c == '\t' || *c == '\r')
			*c = ' ';
	}
	if (mosquitto_validate_utf8(line, (int)len) != MOSQ_ERR_SUCCESS)
		rc = fn(arg, lineno, NULL, "invalid UTF-8 or control character");
	else
		rc = fn(arg, lineno, line, NULL);
	free(line);
	return rc;
}

enum rtg_err rtg_text_lines(const char *text, size_t len, rtg_text_line_fn fn, void *arg)
{
	const char *end = text ? text + len : text, *nl;
	enum rtg_err rc = RTG_OK;
	unsigned lineno = 0;

	for (; rc != RTG_ERR_NOMEM && text < end; text = nl + 1) {
		nl = memchr(text, '\n', (size_t)(end - text));
		if (!nl)
			nl = end;
		rc = one_line(text, (size_t)(nl - text), ++lineno, fn, arg);
	}
	return rc == RTG_ERR_NOMEM ? rc : RTG_OK;
}

void *rtg_text_grow(void *v, size_t n, size_t *cap, size_t elem)
{
	size_t want = *cap ? *cap * 2 : 8;

	if (n < *cap)
		return v;
	v = realloc(v, want * elem);
	if (v)
		*cap = want;
	return v;
}
