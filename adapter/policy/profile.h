/*
 * profile.h - the endpoint profiles (docs/profiles.md): every path the adapter
 * serves, the channel names and message forms clients subscribe by, the type
 * of each topic's payloads, and what each broadcast kind publishes, read from
 * one declarative file.
 *
 * Parsing and lookups only: nothing here touches lws, MQTT or a session, so
 * the parser is unit-tested and fuzzed alone. A parsed set is immutable and
 * reference counted: a SIGHUP swaps in a new set while connections made under
 * the old one keep it until they close. one thread only (the reference count is
 * not atomic).
 */
#ifndef RTG_ADAPTER_PROFILE_H
#define RTG_ADAPTER_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "msg.h"

enum prof_transport { PROF_WEBSOCKET, PROF_SSE, PROF_HTTP };

enum prof_handler {
	PROF_H_NONE, /* websocket and sse endpoints */
	PROF_H_STATS,
	PROF_H_METRICS,
	PROF_H_HEALTH,
	PROF_H_PUBLISH,
	PROF_H_BROADCAST,
	PROF_H_CALCULATIONS,
	PROF_H_SESSION,
	PROF_H_FILE,
};

/* A "topic TEMPLATE TYPE value|event" line. */
struct prof_topic {
	char *tmpl; /* as written: {name} levels name a '+' level */
	char *filter; /* the MQTT filter: every {name} level replaced by '+' */
	char *type;
	bool value;
	unsigned line;
};

/* A "channel NAME TEMPLATE..." line. */
struct prof_channel {
	char *name;
	char **targets; /* templates */
	size_t ntargets;
	unsigned line;
};

/* A "form field|type NAME CHANNEL [or-channel]" line. */
struct prof_form {
	char *name; /* a message field, or a message type when by_type */
	bool by_type; /* "form type": the name is a message type */
	const struct prof_channel *channel;
	bool or_channel;
	unsigned line;
};

/* A "broadcast KIND" section. */
struct prof_broadcast {
	char *kind;
	char **publish; /* templates, tried in order */
	size_t npublish;
	char *type;
	char *type_field; /* or NULL: the body's "type" is dropped */
	bool retain;
	unsigned line;
};

/* A "count FIELD CHANNEL" line of a stats endpoint. */
struct prof_count {
	char *field;
	const struct prof_channel *channel;
};

/* An "endpoint PATH..." section. */
struct prof_endpoint {
	char **paths; /* patterns: literal levels and {name} levels */
	size_t npaths;
	enum prof_transport transport;
	bool token_optional; /* "token optional": anonymous clients too */
	bool token_at_upgrade; /* "token upgrade": with the request only, no first auth message */
	char *greeting; /* NULL: none */
	char **subscribe; /* "@channel", a template, or "?topic" (sse) */
	size_t nsubscribe;
	const struct envelope *env; /* never NULL; the canonical flat one has id 0 */
	bool events_unnamed; /* sse: no "event:" lines */
	bool history_messages; /* websocket: history as the messages themselves, not wrapped */
	enum prof_handler handler;
	char *file; /* PROF_H_FILE: the file under static_dir */
	struct prof_count *counts;
	size_t ncounts;
	unsigned line;
};

/* A parsed profile file. Every pointer inside lives as long as the set. */
struct profiles {
	unsigned refs;
	char *name; /* the file, for messages */
	struct prof_topic *topics;
	size_t ntopics;
	struct prof_channel *channels;
	size_t nchannels;
	struct prof_form *forms;
	size_t nforms;
	struct prof_broadcast *broadcasts;
	size_t nbroadcasts;
	struct prof_endpoint *endpoints;
	size_t nendpoints;
	struct envelope **envs; /* the distinct envelopes with rules, shared by endpoints
				   (the canonical one, id 0, is static and not listed) */
	size_t nenvs;
};

/* The parameters of one request: path parameters, then message fields. */
#define PROF_MAX_PARAMS 8
struct prof_params {
	const char *name[PROF_MAX_PARAMS];
	const char *value[PROF_MAX_PARAMS];
	int n;
	char buf[512]; /* holds the names and values profile__match() copies out of the path */
};

/**
 * Parses the profile file at @p path.
 * @param out set to a set with one reference, or NULL on error; release with
 *        profile__unref()
 * @param err receives every problem, one "file:line: reason" per line
 *        (truncated to @p errlen), or the I/O error
 * @return 0, or -1 on error (nothing allocated)
 */
int profile__load(struct profiles **out, const char *path, char *err, size_t errlen);

/** Parses profile text held in memory; @p name stands for the file in messages. As above. */
int profile__parse(struct profiles **out, const char *name, const char *text, size_t len, char *err,
	size_t errlen);

/** Takes a reference; returns @p p. */
struct profiles *profile__ref(struct profiles *p);

/** Drops a reference, freeing the set with the last. NULL is a no-op. */
void profile__unref(struct profiles *p);

/**
 * Finds the endpoint serving @p path (no query string). @p upgrade: the
 * request is a WebSocket upgrade (only websocket endpoints match), else only
 * sse and http endpoints match. Endpoints are tried in file order; the first
 * that matches wins. On a match, @p params (if not NULL) gets the path
 * parameters, their names and values copied into params->buf; a path whose
 * parameters do not fit there matches nothing. Allocates nothing.
 * @return the endpoint, or NULL (then params->n is 0)
 */
const struct prof_endpoint *profile__match(
	const struct profiles *p, const char *path, bool upgrade, struct prof_params *params);

/** The first "topic" line matching @p topic (a topic name), or NULL. */
const struct prof_topic *profile__topic(const struct profiles *p, const char *topic);

/**
 * Copies into @p buf the level of @p topic that the {@p name} level of
 * @p t's template matches ("ticker" of market/{ticker} in market/AAPL).
 * @return true if @p t names that level and @p topic matches it
 */
bool profile__topic_param(
	const struct prof_topic *t, const char *topic, const char *name, char *buf, size_t len);

/** The channel called @p name, or NULL. */
const struct prof_channel *profile__channel(const struct profiles *p, const char *name);

/** The broadcast section of @p kind, or NULL. */
const struct prof_broadcast *profile__broadcast(const struct profiles *p, const char *kind);

enum prof_expand {
	PROF_EXPAND_OK,
	PROF_EXPAND_ANONYMOUS, /* %u with no user (sub NULL) */
	PROF_EXPAND_MISSING, /* a {name} with no value in params; *bad names it */
	PROF_EXPAND_BAD_VALUE, /* a value that is not one topic level; *bad names the parameter */
	PROF_EXPAND_TOO_LONG,
};

/**
 * Expands template @p tmpl for user @p sub (NULL: anonymous) with @p params
 * into an MQTT topic or filter in @p out (@p outlen bytes with the NUL):
 * %u becomes @p sub, {name} the value of the first parameter of that name,
 * %u~X "<sub>~X" (X text or a {name}'s value), and %u~+ a '+' level.
 * @p own (may be NULL) is set when the template has a "%u~" level: the user's
 * own namespace, which the adapter grants without the ACL. For %u~+ the
 * caller keeps to the user's topics: the level at that position of every
 * topic it delivers must start with "<sub>~". @p sub and every value must be
 * one topic level (rtg_topic_level_valid(); values under 128 bytes), and in a
 * "%u~" level neither may contain '~', so one user's prefix never starts
 * another's.
 * @param bad set on MISSING / BAD_VALUE (may be NULL) to the offending
 *        parameter's name ("%u" for @p sub), copied into @p out (truncated to
 *        fit): valid until @p out is reused
 * @return PROF_EXPAND_OK, or the first problem from left to right;
 *         PROF_EXPAND_TOO_LONG also when @p tmpl or @p out is NULL. @p out
 *         holds a topic only on PROF_EXPAND_OK.
 */
enum prof_expand profile__expand(const char *tmpl, const char *sub,
	const struct prof_params *params, char *out, size_t outlen, bool *own, const char **bad);

/** Adds a parameter (both strings borrowed). Returns 0, or -1 when full. */
int profile__param_add(struct prof_params *params, const char *name, const char *value);

/** The value of parameter @p name (the first of that name), or NULL. */
const char *profile__param(const struct prof_params *params, const char *name);

/*
 * The syntax the parser checks, for code that builds templates or paths
 * itself. Each writes the reason into @p why ("invalid template '...': ...",
 * truncated to @p len; may be NULL) and returns false when not valid.
 */

/** Returns true if @p tmpl is a template (docs/profiles.md, "Templates"), %u levels included. */
bool profile__template_valid(const char *tmpl, char *why, size_t len);

/** Returns true if @p path is an endpoint path pattern (docs/profiles.md, "Paths"). */
bool profile__path_valid(const char *path, char *why, size_t len);

/** Returns true if the @p n bytes at @p s are a parameter or field name: [a-z_][a-z0-9_]*. */
bool profile__ident_valid(const char *s, size_t n);

#endif /* RTG_ADAPTER_PROFILE_H */
