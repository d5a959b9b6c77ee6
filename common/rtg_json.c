/*
 * rtg_json.c - small cJSON helpers (see rtg_json.h), in the style of
 * mosquitto dynamic-security's json_help.c: one place that checks a field's
 * type, one that prints, one that frees what cJSON printed. It does not parse
 * (callers use cJSON_ParseWithLength on their own buffers). Pure functions:
 * safe from any thread.
 */
#include <string.h>

#include "rtg_json.h"

const char *rtg_json_get_string(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

char *rtg_json_print(const cJSON *obj, size_t *len)
{
	char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;

	if (len)
		*len = text ? strlen(text) : 0;
	return text;
}

void rtg_json_free(char *text)
{
	if (text)
		cJSON_free(text);
}

cJSON *rtg_json_strings(const char *const *kv)
{
	cJSON *obj = cJSON_CreateObject();

	for (; obj && kv[0]; kv += 2) {
		if (!(kv[1] ? cJSON_AddStringToObject(obj, kv[0], kv[1])
			    : cJSON_AddNullToObject(obj, kv[0]))) {
			cJSON_Delete(obj);
			obj = NULL;
		}
	}
	return obj;
}
