/*
 * publish.c - what a client or a service publishes, the same for a WebSocket
 * "publish" message, POST /api/publish and the broadcast API: checked against
 * the ACL for the caller (an anonymous client may not write), and the
 * payload's bytes passed on as they were sent (jtext.c), never re-encoded, so
 * numbers reach every subscriber exactly as written.
 *
 * A broadcast (POST .../broadcast/{kind}) publishes its body to the topic its
 * profile section names, with the section's message type: a body's own
 * "type" never overrides it. It does not route requests (http*.c) nor answer
 * them. one thread only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "jtext.h"
#include "rtg_json.h"
#include "rtg_topic.h"

/* The ACL, then the broker. Returns 0 or an HTTP status with err set. */
static int publish_bytes(struct adapter *a, const struct rtg_identity *id, const char *conn_id,
	const char *topic, const char *bytes, size_t n, bool retain, char *err, size_t errlen)
{
	char why[128];

	if (!auth__allowed_id(a, id, conn_id, topic, RTG_ACCESS_WRITE, why, sizeof(why))) {
		snprintf(err, errlen, "cannot publish to '%.200s': %s", topic, why);
		return HTTP_STATUS_FORBIDDEN;
	}
	if (!a->core.broker->up(a) || a->core.broker->publish(a, topic, bytes, n, retain)) {
		snprintf(err, errlen, "the broker is not available; try again");
		return HTTP_STATUS_SERVICE_UNAVAILABLE;
	}
	a->stats.publishes++;
	return 0;
}

/* The raw bytes of member @name of the object text, or NULL. */
static const char *raw_member(const char *text, size_t len, const char *name, size_t *n)
{
	struct jtext_member m;
	struct jtext_iter it;

	if (!text || !jtext__members(&it, text, len))
		return NULL;
	while (jtext__next(&it, &m) == 1) {
		if (jtext__key_is(m.key, m.key_len, name)) {
			*n = m.value_len;
			return m.value;
		}
	}
	return NULL;
}

/*
 * {"topic", "payload", "retain"}: a string payload goes as its characters,
 * anything else as its JSON text, copied from the message as the client wrote
 * it (@text, @len: the whole message; NULL: printed from @msg instead).
 */
int pub__message(struct adapter *a, const struct rtg_identity *id, const char *conn_id,
	const cJSON *msg, const char *text, size_t len, char *err, size_t errlen)
{
	const char *topic = rtg_json_get_string(msg, "topic");
	const cJSON *payload = cJSON_GetObjectItemCaseSensitive(msg, "payload");
	const cJSON *retain = cJSON_GetObjectItemCaseSensitive(msg, "retain");
	struct jtext_buf b;
	const char *raw;
	char *bytes, *printed = NULL;
	size_t n = 0;
	int status;

	if (!topic || !rtg_topic_name_valid(topic)) {
		snprintf(err, errlen, "publish needs a valid \"topic\" (no wildcards)");
		return HTTP_STATUS_BAD_REQUEST;
	}
	if (!payload || (retain && !cJSON_IsBool(retain))) {
		snprintf(err, errlen,
			"publish needs a \"payload\" (and \"retain\" must be a boolean)");
		return HTTP_STATUS_BAD_REQUEST;
	}
	if (cJSON_IsString(payload))
		return publish_bytes(a, id, conn_id, topic, payload->valuestring,
			strlen(payload->valuestring), cJSON_IsTrue(retain), err, errlen);
	jtext__buf_init(&b, 0);
	raw = raw_member(text, len, "payload", &n);
	if (raw)
		jtext__put_json(&b, raw, n);
	bytes = raw ? jtext__buf_take(&b, &n) : NULL;
	if (!bytes) /* no text, or a number JSON does not allow: cJSON's own form */
		bytes = printed = rtg_json_print(payload, &n);
	if (!bytes) {
		snprintf(err, errlen, "out of memory");
		return HTTP_STATUS_INTERNAL_SERVER_ERROR;
	}
	status = publish_bytes(a, id, conn_id, topic, bytes, n, cJSON_IsTrue(retain), err, errlen);
	/* jtext's copy is malloc()ed, cJSON's text comes from cJSON's allocator */
	if (printed)
		rtg_json_free(printed);
	else
		free(bytes);
	return status;
}

/* ==== broadcasts ============================================================================ */

/* A topic level from the body: a string name, or an exact integer (user ids often are). */
static bool level_of(const cJSON *msg, const char *key, char *buf, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, key);

	if (cJSON_IsString(v) && rtg_topic_level_valid(v->valuestring, RTG_TOPIC_LEVEL_MAX))
		snprintf(buf, len, "%s", v->valuestring);
	else if (cJSON_IsNumber(v) && fabs(v->valuedouble) < 9007199254740992.0 &&
		v->valuedouble == (double)(long long)v->valuedouble) /* an exact integer */
		snprintf(buf, len, "%lld", (long long)v->valuedouble);
	else
		return false;
	return true;
}

/*
 * The topic: the first of the section's templates whose {parameters} the body
 * has, each usable as one topic level. Returns 0, or 400 with err set.
 */
static int broadcast_topic(const struct prof_broadcast *bc, const cJSON *msg, char *topic,
	size_t len, char *err, size_t errlen)
{
	char names[PROF_MAX_PARAMS][64], values[PROF_MAX_PARAMS][RTG_TOPIC_LEVEL_MAX],
		missing[64] = "";
	struct prof_params p;
	const char *o, *c;
	bool own, ok;
	size_t i;

	for (i = 0; i < bc->npublish; i++) {
		memset(&p, 0, sizeof(p));
		ok = true;
		for (o = strchr(bc->publish[i], '{'); ok && o; o = strchr(c, '{')) {
			c = strchr(o, '}');
			if (!c || (size_t)(c - o) > sizeof(names[0]) || p.n == PROF_MAX_PARAMS)
				return HTTP_STATUS_INTERNAL_SERVER_ERROR; /* the parser prevents it */
			snprintf(names[p.n], sizeof(names[0]), "%.*s", (int)(c - o - 1), o + 1);
			ok = level_of(msg, names[p.n], values[p.n], sizeof(values[0]));
			if (!ok && !missing[0])
				snprintf(missing, sizeof(missing), "%s", names[p.n]);
			if (ok && profile__param_add(&p, names[p.n], values[p.n]))
				return HTTP_STATUS_INTERNAL_SERVER_ERROR;
		}
		if (ok &&
			profile__expand(bc->publish[i], NULL, &p, topic, len, &own, NULL) ==
				PROF_EXPAND_OK)
			return 0;
	}
	snprintf(err, errlen,
		"a %.64s broadcast needs a \"%s\" usable in a topic (no '/', '+', '#')", bc->kind,
		missing);
	return HTTP_STATUS_BAD_REQUEST;
}

/* Is @name "data" or a {parameter} of one of the section's templates? */
static bool wrapper_member(const struct prof_broadcast *bc, const char *name)
{
	char param[72];
	size_t i;

	if (!strcmp(name, "data"))
		return true;
	snprintf(param, sizeof(param), "{%s}", name);
	for (i = 0; i < bc->npublish; i++) {
		if (strstr(bc->publish[i], param))
			return true;
	}
	return false;
}

/*
 * The payload's source: the body, or its "data" object when the body only
 * wraps it: {"user_id":..., "data":{...}} (the seeds' helpers pass the data
 * and the user apart).
 */
static const cJSON *payload_of(const struct prof_broadcast *bc, const cJSON *body)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(body, "data"), *m;

	if (!cJSON_IsObject(data))
		return body;
	cJSON_ArrayForEach(m, body) {
		if (!m->string || !wrapper_member(bc, m->string))
			return body;
	}
	return data;
}

/*
 * The payload: the source object's members as sent, but its own "type",
 * which moves to type_field when the section names one and the body has no
 * such member yet (a notification's "type":"security" becomes
 * "notification_type":"security") and is dropped otherwise; then the
 * section's type.
 */
static char *broadcast_payload(
	const struct prof_broadcast *bc, const cJSON *src, const char *text, size_t len, size_t *n)
{
	const char *drop[] = {"type", bc->type_field};
	const char *raw = text, *type;
	struct jtext_buf b;
	size_t rlen = len;

	if (src != NULL && src->string) /* the "data" member: its own bytes */
		raw = raw_member(text, len, src->string, &rlen);
	type = rtg_json_get_string(src, "type");
	/* a body that names its type_field itself keeps it, and its own "type" goes */
	if (bc->type_field && cJSON_HasObjectItem(src, bc->type_field))
		type = NULL;
	jtext__buf_init(&b, 0);
	jtext__copy_except(&b, raw, rlen, drop, bc->type_field && type ? 2 : 1);
	if (bc->type_field && type) {
		jtext__put_key(&b, bc->type_field);
		jtext__put_string(&b, type, strlen(type));
	}
	jtext__put_key(&b, "type");
	jtext__put_string(&b, bc->type, strlen(bc->type));
	jtext__put(&b, "}", 1);
	return jtext__buf_take(&b, n);
}

int pub__broadcast(struct adapter *a, const struct rtg_identity *id,
	const struct prof_broadcast *bc, const cJSON *msg, const char *body, size_t len,
	char *topic, size_t topiclen, char *err, size_t errlen)
{
	char *payload;
	size_t n;
	int status;

	status = broadcast_topic(bc, msg, topic, topiclen, err, errlen);
	if (status)
		return status;
	payload = broadcast_payload(bc, payload_of(bc, msg), body, len, &n);
	if (!payload) {
		snprintf(err, errlen,
			"the body cannot be published as it is (numbers must be JSON)");
		return HTTP_STATUS_BAD_REQUEST;
	}
	status = publish_bytes(a, id, "http", topic, payload, n, bc->retain, err, errlen);
	free(payload);
	return status;
}
