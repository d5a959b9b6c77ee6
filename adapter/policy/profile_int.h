/*
 * profile_int.h - the parser's state, shared by the profile*.c files that
 * read a profile file: profile.c (the file, its lines, envelopes, the set's
 * life), profile_global.c (topic, channel and form lines, channel references)
 * and profile_section.c (endpoint and broadcast sections); private to them,
 * nothing else includes it.
 *
 * A parse builds a struct profiles in place; lines that need the rest of
 * their section or of the file are checked when that ends. Broken lines are
 * collected and written out sorted by line. One parse runs in one thread.
 */
#ifndef RTG_ADAPTER_PROFILE_INT_H
#define RTG_ADAPTER_PROFILE_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "profile.h"
#include "rtg_err.h"
#include "rtg_text.h"

#define PROF_CLIP 80 /* at most this much of a word is quoted back */
#define PROF_WHY_LEN 320 /* a reason, with its quoted words */

/* The keys of section lines; K_QTOPIC stands for "?topic" in a subscribe line. */
enum prof_key {
	K_TRANSPORT,
	K_TOKEN,
	K_GREETING,
	K_SUBSCRIBE,
	K_ENVELOPE,
	K_NEST,
	K_RENAME,
	K_EVENTS,
	K_HANDLER,
	K_COUNT,
	K_QTOPIC,
	K_PUBLISH,
	K_TYPE,
	K_TYPE_FIELD,
	K_RETAIN,
	K_HISTORY,
	K_COUNT_OF_KEYS
};

enum prof_section { SEC_NONE, SEC_ENDPOINT, SEC_BROADCAST };

/* An endpoint line whose key may not suit the transport, known only at the section's end. */
struct prof_keyline {
	enum prof_key key;
	unsigned line;
};

/* A type's "nest" and "rename" lines in the open endpoint section. */
struct prof_rule_build {
	char *type, *nest, *rename; /* nest NULL with nest_line set: "nest TYPE flat" */
	unsigned nest_line, rename_line;
};

/* The section being read: what is needed to check it when it ends. */
struct prof_open {
	enum prof_section kind;
	size_t idx; /* in endpoints or broadcasts */
	unsigned line, last; /* its first line, and its last line so far */
	unsigned first[K_COUNT_OF_KEYS]; /* the first line of each key, 0 if none */
	bool transport_ok; /* a transport line named a transport */
	bool nested; /* "envelope nested" */
	struct prof_keyline *keys;
	size_t nkeys, kcap;
	struct prof_rule_build *rules;
	size_t nrules, rcap;
};

enum prof_ref_kind { REF_FORM, REF_COUNT, REF_SUBSCRIBE };

/* A channel named by a line, checked once the file has defined every channel. */
struct prof_ref {
	char *channel;
	unsigned line;
	enum prof_ref_kind kind;
	size_t i, j; /* form i; count j of endpoint i; a subscribe line of endpoint i */
};

struct prof_perr {
	unsigned line, seq;
	char *text; /* NULL: out of memory for the text */
};

struct prof_parser {
	struct profiles *set;
	const char *name;
	unsigned lineno;
	struct prof_open sec;
	struct prof_ref *refs;
	size_t nrefs;
	struct prof_perr *errs; /* the first ERR_KEEP broken lines */
	size_t nerrs, nerrors; /* kept; and all of them */
	struct {
		size_t topics, channels, forms, broadcasts, endpoints, envs, refs, errs;
	} cap;
};

/* Appends a zeroed element to @arr (@n elements, room for @cap); @slot points to it, or is NULL. */
#define PROF_APPEND(slot, arr, n, cap)                                         \
	do {                                                                   \
		void *nv_ = rtg_text_grow((arr), (n), &(cap), sizeof(*(arr))); \
		(slot) = NULL;                                                 \
		if (nv_) {                                                     \
			(arr) = nv_;                                           \
			(slot) = &(arr)[(n)++];                                \
			memset((slot), 0, sizeof(*(arr)));                     \
		}                                                              \
	} while (0)

/* Records a broken line (the current one, or @line); always returns RTG_ERR_PARSE. */
__attribute__((format(printf, 2, 3))) enum rtg_err profile__report(
	struct prof_parser *p, const char *fmt, ...);
__attribute__((format(printf, 3, 4))) enum rtg_err profile__report_at(
	struct prof_parser *p, unsigned line, const char *fmt, ...);

/* A message type, channel, kind, field or key: 1 to 64 of [A-Za-z0-9_.-]. */
bool profile__name_valid(const char *s);

/* Reports @s as an invalid @what ("type", "channel name", ...). */
enum rtg_err profile__bad_name(struct prof_parser *p, const char *what, const char *s);

/* Returns the index of @w in the @n @words, or -1. */
int profile__word_index(const char *w, const char *const *words, int n);

/* Appends a copy of @s to the string array *v of *n. */
enum rtg_err profile__strs_add(char ***v, size_t *n, const char *s);

/* Notes that the current line names channel @name, to be resolved at the end. */
enum rtg_err profile__add_ref(
	struct prof_parser *p, const char *name, enum prof_ref_kind kind, size_t i, size_t j);

/* Returns true if valid path @path has the whole level {name} (@len bytes of @name). */
bool profile__path_has_param(const char *path, const char *name, size_t len);

/* The line of the endpoint already serving a path like valid @path ({names} aside), or 0. */
unsigned profile__path_owner(const struct profiles *set, const char *path);

/* The first {name} of a valid template at or after @s: the name (*len bytes), or NULL. */
const char *profile__next_param(const char *s, size_t *len);

/* A topic, channel or form line; RTG_ERR_INVAL (nothing reported) for any other word. */
enum rtg_err profile__global_line(struct prof_parser *p, char **av, int ac);

/* Points forms and counts at their channels, reporting references to unknown ones. */
void profile__resolve(struct prof_parser *p);

/* An "endpoint" or "broadcast" line (@av[0]): ends the open section and opens one. */
enum rtg_err profile__section_open(struct prof_parser *p, char **av, int ac);

/* Any other line: a section key, or an unknown directive. */
enum rtg_err profile__section_line(struct prof_parser *p, char **av, int ac);

/* Checks the open section, if any, and closes it. */
enum rtg_err profile__section_end(struct prof_parser *p);

/* Frees the open section's state without checking it. */
void profile__section_cleanup(struct prof_parser *p);

/* Gives endpoint @e the envelope of the open section's rules, shared with equal ones. */
enum rtg_err profile__env_attach(struct prof_parser *p, struct prof_endpoint *e);

/* Frees an envelope and its rules; NULL is a no-op. */
void profile__env_free(struct envelope *env);

#endif /* RTG_ADAPTER_PROFILE_INT_H */
