/*
 * rtg_json.h - small cJSON helpers: reading a protocol field, printing a
 * reply, and building a flat object of strings, each in one checked place.
 *
 * Ownership follows cJSON's own rules: a borrowed pointer into a cJSON tree
 * lives as long as the tree; printed text comes from cJSON's allocator and is
 * released with rtg_json_free(), never with free() (cJSON_InitHooks may give
 * it another allocator). No global state: safe from any thread, one object
 * per thread at a time.
 */
#ifndef RTG_JSON_H
#define RTG_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

/**
 * The string member @p name of the object @p obj (case-sensitive, as protocol
 * fields are).
 * @return the member's text, borrowed: valid until @p obj is deleted or the
 *         member replaced; NULL if @p obj is NULL, the member is missing or is
 *         not a string.
 */
const char *rtg_json_get_string(const cJSON *obj, const char *name);

/**
 * Prints @p obj without formatting.
 * @param len if not NULL, receives the text's length in bytes (0 on failure).
 * @return the text, owned by the caller: release it with rtg_json_free();
 *         NULL if @p obj is NULL or memory ran out.
 */
char *rtg_json_print(const cJSON *obj, size_t *len);

/** Releases text from rtg_json_print() (or any cJSON_Print*). NULL is a no-op. */
void rtg_json_free(char *text);

/**
 * A new object of string members from @p kv: name, value, name, value, ...,
 * ended by a NULL name. A NULL value gives a JSON null.
 * @return the object, owned by the caller: cJSON_Delete() it (or give it to a
 *         parent); NULL if memory ran out (nothing is left allocated).
 */
cJSON *rtg_json_strings(const char *const *kv);

#endif /* RTG_JSON_H */
