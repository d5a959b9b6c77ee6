/*
 * rtg_acl_parse.c - reads an ACL file into the immutable struct rtg_acl that
 * rtg_acl.c checks against.
 *
 * Not here: the decisions (rtg_acl.c), token verification (rtg_jwt.c) and
 * topic syntax (rtg_topic.c). Runs at start-up or reload in the caller's
 * thread; the ACL it returns is never modified afterwards.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rtg_acl_int.h"
#include "rtg_text.h"
#include "rtg_topic.h"
#include "rtg_util.h"

/*
 * The file format (the syntax is in rtg_acl.h), line by line:
 *  - Lines are trimmed of spaces, tabs and CR. Blank lines and lines starting
 *    with '#' are comments; there are no trailing comments ('#' is a wildcard).
 *  - "user <name>" / "role <name>": the name is the rest of the line, not empty.
 *    "anonymous" takes nothing after it. Sections of one kind and name merge.
 *  - "topic [access] <filter>" goes to the current section, or to every
 *    authenticated client before the first one; "pattern [access] <filter>"
 *    to every authenticated client wherever it is (even after "anonymous").
 *    In the anonymous section only read and deny are accepted: a browser
 *    without a token must never publish. The access defaults to readwrite,
 *    so a bare "topic <filter>" there is an error too.
 *  - Words are split on spaces and tabs, so filters cannot hold spaces: two
 *    or more words after the keyword must be an access word and one filter.
 *  - %u (the token's sub) and %c (the client id) are substituted in patterns
 *    only; any other '%' in a pattern is an error. Topic lines keep them as is.
 *  - Filters must be valid subscription filters (patterns with "x" for %u/%c).
 *  - A line of 64 KiB or more, a NUL byte, invalid UTF-8 or a control
 *    character, or an unknown directive is an error. Every broken line is
 *    reported as "name:line: reason", and any error refuses the whole file.
 */

#define ACL_FILE_MAX (16 * 1024 * 1024)
#define ACL_MSG_CLIP 80 /* at most this much of a broken line is quoted back */

/* ==== Building sections ======================================================================= */

/* Appends @r; its filter belongs to the section on success only. */
static enum rtg_err section_add_rule(struct acl_section *s, struct acl_rule r)
{
	struct acl_rule *rules = rtg_text_grow(s->rules, s->nrules, &s->cap, sizeof(*rules));

	if (!rules)
		return RTG_ERR_NOMEM;
	s->rules = rules;
	rules[s->nrules++] = r;
	return RTG_OK;
}

/* Appends an empty section with a copy of @name, and points *out at it. */
static enum rtg_err list_add(struct section_list *l, const char *name, struct acl_section **out)
{
	struct acl_section *v = rtg_text_grow(l->v, l->n, &l->cap, sizeof(*v));

	if (!v)
		return RTG_ERR_NOMEM;
	l->v = v;
	memset(&v[l->n], 0, sizeof(v[l->n]));
	v[l->n].name = strdup(name);
	if (!v[l->n].name)
		return RTG_ERR_NOMEM;
	*out = &v[l->n++];
	return RTG_OK;
}

/* ==== Parsing ================================================================================= */

struct parser {
	struct rtg_acl *acl;
	struct acl_section *cur; /* where "topic" lines go: the last section started */
	const char *name;
	size_t lineno;
	char *errbuf;
	size_t errlen, errused, nerrors;
};

/*
 * Records one broken line as "name:line: reason", on a line of its own in
 * errbuf, truncating when the buffer is full. Always returns RTG_ERR_PARSE so
 * callers can "return report(...)".
 */
__attribute__((format(printf, 2, 3))) static enum rtg_err report(
	struct parser *p, const char *fmt, ...)
{
	char reason[256];
	va_list ap;
	int n;

	p->nerrors++;
	if (!p->errbuf || p->errused + 1 >= p->errlen)
		return RTG_ERR_PARSE;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	n = snprintf(p->errbuf + p->errused, p->errlen - p->errused, "%s%s:%zu: %s",
		p->errused ? "\n" : "", p->name, p->lineno, reason);
	if (n > 0)
		p->errused += (size_t)n;
	if (p->errused >= p->errlen)
		p->errused = p->errlen - 1;
	return RTG_ERR_PARSE;
}

/* Ends the word at @s (words are separated by spaces) and returns the next one, or "". */
static char *cut_word(char *s)
{
	s += strcspn(s, " ");
	if (*s) {
		*s++ = '\0';
		s += strspn(s, " ");
	}
	return s;
}

/* Returns the access a word names (ACCESS_DENY, READ, WRITE, READ | WRITE: its index), or -1. */
static int parse_access(const char *w)
{
	static const char *const words[] = {"deny", "read", "write", "readwrite"};
	int i;

	for (i = 0; i < (int)RTG_ARRAY_SIZE(words); i++) {
		if (strcmp(w, words[i]) == 0)
			return i;
	}
	return -1;
}

/*
 * Replaces %u and %c in @f by "x", in place, so that what is left can be
 * checked like any filter. Returns false on any other '%'.
 */
static bool probe_pattern(char *f, bool *subst)
{
	char *w = f;

	*subst = false;
	for (; *f; f++) {
		if (*f != '%') {
			*w++ = *f;
			continue;
		}
		if (f[1] != 'u' && f[1] != 'c')
			return false;
		*subst = true;
		*w++ = 'x';
		f++;
	}
	*w = '\0';
	return true;
}

/* @f lies in the parser's copy of the line and may be changed. */
static enum rtg_err add_rule(struct parser *p, bool pattern, char *f, int access)
{
	struct acl_section *s = pattern ? &p->acl->patterns : p->cur ? p->cur : &p->acl->everyone;
	bool subst = false;
	enum rtg_err rc;
	char *filter;

	if (s == &p->acl->anonymous && (access & RTG_ACCESS_WRITE))
		return report(
			p, "anonymous clients may only read: use 'topic read' or 'topic deny'");
	filter = strdup(f);
	if (!filter)
		return RTG_ERR_NOMEM;
	if (pattern && !probe_pattern(f, &subst))
		rc = report(
			p, "bad substitution in '%.*s' (only %%u and %%c)", ACL_MSG_CLIP, filter);
	else if (!rtg_topic_filter_valid(f))
		rc = report(p, "invalid topic filter '%.*s'", ACL_MSG_CLIP, filter);
	else
		rc = section_add_rule(s, (struct acl_rule){filter, (unsigned char)access, subst});
	if (rc != RTG_OK) {
		free(filter);
		return rc;
	}
	p->acl->nrules++;
	return RTG_OK;
}

/* "topic ..." or "pattern ...": [access] filter, and nothing after it. */
static enum rtg_err parse_rule(struct parser *p, bool pattern, char *first)
{
	char *second = cut_word(first);
	char *extra = cut_word(second);
	int access;

	if (!*first || (!*second && parse_access(first) >= 0))
		return report(p, "missing filter");
	if (!*second)
		return add_rule(p, pattern, first, RTG_ACCESS_READ | RTG_ACCESS_WRITE);

	access = parse_access(first);
	if (access < 0)
		return report(p, "unknown access '%.*s'", ACL_MSG_CLIP, first);
	if (*extra)
		return report(p, "text after the filter (filters cannot contain spaces)");
	return add_rule(p, pattern, second, access);
}

/* @line is our NUL-terminated copy (tabs and CR made spaces), free to cut up. */
static enum rtg_err parse_directive(struct parser *p, char *line)
{
	char *kw, *rest, *end;

	kw = line + strspn(line, " ");
	end = kw + strlen(kw);
	while (end > kw && end[-1] == ' ')
		*--end = '\0';
	if (!*kw || *kw == '#')
		return RTG_OK;

	rest = cut_word(kw);
	if (strcmp(kw, "topic") == 0)
		return parse_rule(p, false, rest);
	if (strcmp(kw, "pattern") == 0)
		return parse_rule(p, true, rest);
	if (strcmp(kw, "anonymous") == 0) {
		if (*rest)
			return report(p, "text after 'anonymous' (it takes no name)");
		p->cur = &p->acl->anonymous;
		return RTG_OK;
	}
	if (strcmp(kw, "user") == 0 || strcmp(kw, "role") == 0) {
		if (!*rest)
			return report(p, "missing %s name", kw);
		return list_add(kw[0] == 'u' ? &p->acl->users : &p->acl->roles, rest, &p->cur);
	}
	return report(p, "unknown directive '%.*s'", ACL_MSG_CLIP, kw);
}

/* One line of the file (rtg_text_lines()): a directive, or why it cannot be read. */
static enum rtg_err parse_line(void *arg, unsigned lineno, char *line, const char *bad)
{
	struct parser *p = arg;

	p->lineno = lineno;
	return line ? parse_directive(p, line) : report(p, "%s", bad);
}

/* Every broken line is reported before the file is refused; only NOMEM stops early. */
enum rtg_err rtg_acl_parse(struct rtg_acl **out, const char *name, const char *text, size_t len,
	char *errbuf, size_t errlen)
{
	struct parser p = {.name = name, .errbuf = errbuf, .errlen = errlen};
	enum rtg_err rc;

	if (out)
		*out = NULL;
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!out || !name || !text)
		return RTG_ERR_INVAL;
	p.acl = calloc(1, sizeof(*p.acl));
	if (!p.acl)
		return RTG_ERR_NOMEM;

	rc = rtg_text_lines(text, len, parse_line, &p);
	if (rc != RTG_ERR_NOMEM)
		rc = p.nerrors ? RTG_ERR_PARSE : RTG_OK;
	if (rc != RTG_OK) {
		rtg_acl_free(p.acl);
		return rc;
	}
	if (p.acl->users.n)
		qsort(p.acl->users.v, p.acl->users.n, sizeof(*p.acl->users.v), acl__section_cmp);
	if (p.acl->roles.n)
		qsort(p.acl->roles.v, p.acl->roles.n, sizeof(*p.acl->roles.v), acl__section_cmp);
	*out = p.acl;
	return RTG_OK;
}

/* ==== Loading ================================================================================= */

static enum rtg_err io_error(const char *path, const char *why, char *errbuf, size_t errlen)
{
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "%s: %s", path, why);
	return RTG_ERR_IO;
}

/* Reads the whole file (a regular file of at most 16 MiB), then parses it. */
enum rtg_err rtg_acl_load(struct rtg_acl **out, const char *path, char *errbuf, size_t errlen)
{
	enum rtg_err rc = RTG_OK;
	char *text = NULL;
	struct stat st;
	size_t len;
	FILE *f;

	if (out)
		*out = NULL;
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!out || !path)
		return RTG_ERR_INVAL;
	f = fopen(path, "rb");
	if (!f)
		return io_error(path, strerror(errno), errbuf, errlen);

	if (fstat(fileno(f), &st) != 0)
		rc = io_error(path, strerror(errno), errbuf, errlen);
	else if (!S_ISREG(st.st_mode))
		rc = io_error(path, "not a regular file", errbuf, errlen);
	else if (st.st_size > ACL_FILE_MAX)
		rc = io_error(path, "file too large (over 16 MiB)", errbuf, errlen);
	else
		text = malloc((size_t)st.st_size + 1);
	if (rc == RTG_OK && !text)
		rc = RTG_ERR_NOMEM;
	if (rc == RTG_OK) {
		len = fread(text, 1, (size_t)st.st_size, f);
		if (ferror(f))
			rc = io_error(path, strerror(EIO), errbuf, errlen);
		else
			rc = rtg_acl_parse(out, path, text, len, errbuf, errlen);
	}
	free(text);
	fclose(f);
	return rc;
}
