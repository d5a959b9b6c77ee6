/*
 * calc_request.h - a calculation request and its progress updates, as JSON:
 * where to answer, which ids to echo, what is wrong with a request, and the
 * calculation_update messages. No MQTT and no state of its own; the worker
 * calls it from its main thread, and from libmosquitto's for a request it
 * refuses at once, so every function here is thread-safe.
 */
#ifndef CALC_REQUEST_H
#define CALC_REQUEST_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "calc.h"
#include "rtg_err.h"

/* A parsed request. Caller-owned; strings are borrowed from root or buf. */
struct calc_request {
	char *progress_topic; /* calc/<level>/progress; NULL if the topic had another shape */
	char *buf; /* a copy of <level>, split at its last '~' into user and id */
	cJSON *root; /* the parsed body, or NULL */
	const char *id; /* the body's "calculation_id", else the id in the topic */
	const char *user; /* the body's "user_id", else the user in the topic, or NULL */
	const char *type; /* "calculation_type", or NULL */
	const cJSON *params; /* "parameters" (an object), or NULL */
	const struct calc_kind *kind; /* what to run; NULL unless RTG_OK */
	char why[160]; /* why it cannot run, after an error */
};

/**
 * Parses a request received on @p topic, which should be calc/<user>~<id>/request
 * (as the adapter publishes it). @p rq is cleared first; release it with
 * calc__request_cleanup() whatever the outcome.
 * @param payload the body, @p len bytes (need not be NUL-terminated)
 * @return RTG_OK when it can run (rq->kind set); RTG_ERR_INVAL with the reason
 *         in rq->why: not JSON, no or unknown calculation_type, bad "type" or
 *         "parameters", or a topic of another shape (then progress_topic is
 *         NULL: there is nowhere to answer); RTG_ERR_NOMEM (rq->why says so)
 */
enum rtg_err calc__request_parse(
	struct calc_request *rq, const char *topic, const char *payload, size_t len);

/** Frees what @p rq holds and clears it; a cleared request is fine. */
void calc__request_cleanup(struct calc_request *rq);

/**
 * A calculation_update for @p rq: type, calculation_id, calculation_type,
 * user_id (null when @p rq lacks them), status, progress, message, timestamp
 * (now, UTC, ISO 8601 with milliseconds) and worker. The caller adds
 * "result" or "error".
 * @return a new object for cJSON_Delete(), or NULL when out of memory
 */
cJSON *calc__update_new(const struct calc_request *rq, const char *status, int progress,
	const char *message, const char *worker);

#endif /* CALC_REQUEST_H */
