/*
 * calc_request.c - reading a calculation request and writing its
 * calculation_update messages (calc_request.h).
 *
 * The topic decides where the answer goes: calc/<level>/request is answered
 * on calc/<level>/progress, so even a body that is not JSON gets a "failed"
 * update its user can see. The ids echoed come from the body when it has
 * them, else from the level <user>~<id>. No MQTT; thread-safe (no state).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calc_request.h"

#define PREFIX "calc/"
#define LEAF "/request"

/* A string member of obj, or NULL. */
static const char *str_member(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static enum rtg_err say(struct calc_request *rq, enum rtg_err rc, const char *why)
{
	snprintf(rq->why, sizeof(rq->why), "%s", why);
	return rc;
}

/* Finds the progress topic and the ids of the level <user>~<id> of calc/<level>/request. */
static enum rtg_err route(struct calc_request *rq, const char *topic)
{
	const char *level = topic + strlen(PREFIX);
	size_t n, size;
	char *tilde;

	if (strncmp(topic, PREFIX, strlen(PREFIX)))
		return say(rq, RTG_ERR_INVAL, "not a calc/<id>/request topic");
	n = strcspn(level, "/");
	if (!n || strcmp(level + n, LEAF))
		return say(rq, RTG_ERR_INVAL, "not a calc/<id>/request topic");
	size = n + sizeof(PREFIX "/progress");
	rq->buf = strndup(level, n);
	rq->progress_topic = malloc(size);
	if (!rq->buf || !rq->progress_topic) {
		free(rq->progress_topic);
		rq->progress_topic = NULL;
		return say(rq, RTG_ERR_NOMEM, "out of memory");
	}
	snprintf(rq->progress_topic, size, PREFIX "%s/progress", rq->buf);
	tilde = strrchr(rq->buf, '~');
	rq->id = tilde ? tilde + 1 : rq->buf;
	if (tilde) {
		*tilde = '\0';
		rq->user = rq->buf;
	}
	return RTG_OK;
}

enum rtg_err calc__request_parse(
	struct calc_request *rq, const char *topic, const char *payload, size_t len)
{
	const cJSON *type;
	enum rtg_err rc;

	memset(rq, 0, sizeof(*rq));
	if ((rc = route(rq, topic)))
		return rc;
	rq->root = cJSON_ParseWithLength(payload, len);
	if (!cJSON_IsObject(rq->root))
		return say(rq, RTG_ERR_INVAL, "the request is not a JSON object");
	if (str_member(rq->root, "calculation_id"))
		rq->id = str_member(rq->root, "calculation_id");
	if (str_member(rq->root, "user_id"))
		rq->user = str_member(rq->root, "user_id");
	rq->type = str_member(rq->root, "calculation_type");
	type = cJSON_GetObjectItemCaseSensitive(rq->root, "type");
	if (type && (!cJSON_IsString(type) || strcmp(type->valuestring, "calculate")))
		return say(rq, RTG_ERR_INVAL, "the request's \"type\" is not \"calculate\"");
	if (!rq->type)
		return say(rq, RTG_ERR_INVAL, "the request has no \"calculation_type\"");
	rq->params = cJSON_GetObjectItemCaseSensitive(rq->root, "parameters");
	if (rq->params && !cJSON_IsObject(rq->params))
		return say(rq, RTG_ERR_INVAL, "\"parameters\" must be an object");
	rq->kind = calc__find(rq->type);
	if (!rq->kind) {
		snprintf(rq->why, sizeof(rq->why), "unknown calculation_type \"%.40s\" (known: %s)",
			rq->type, calc__names());
		return RTG_ERR_INVAL;
	}
	return RTG_OK;
}

void calc__request_cleanup(struct calc_request *rq)
{
	free(rq->progress_topic);
	free(rq->buf);
	cJSON_Delete(rq->root);
	memset(rq, 0, sizeof(*rq));
}

static const char *iso_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%.20s.%03dZ", base, (int)(ts.tv_nsec / 1000000));
	return buf;
}

/* Adds name: s, or name: null when s is NULL. */
static bool add_string_or_null(cJSON *obj, const char *name, const char *s)
{
	return s ? cJSON_AddStringToObject(obj, name, s) != NULL
		 : cJSON_AddNullToObject(obj, name) != NULL;
}

cJSON *calc__update_new(const struct calc_request *rq, const char *status, int progress,
	const char *message, const char *worker)
{
	cJSON *u = cJSON_CreateObject();
	char ts[40];

	if (!u || !cJSON_AddStringToObject(u, "type", "calculation_update") ||
		!add_string_or_null(u, "calculation_id", rq->id) ||
		!add_string_or_null(u, "calculation_type", rq->type) ||
		!add_string_or_null(u, "user_id", rq->user) ||
		!cJSON_AddStringToObject(u, "status", status) ||
		!cJSON_AddNumberToObject(u, "progress", progress) ||
		!cJSON_AddStringToObject(u, "message", message) ||
		!cJSON_AddStringToObject(u, "timestamp", iso_now(ts, sizeof(ts))) ||
		!cJSON_AddStringToObject(u, "worker", worker)) {
		cJSON_Delete(u);
		return NULL;
	}
	return u;
}
