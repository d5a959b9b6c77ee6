/*
 * calcs.h - the one rule for a calculation id, shared by whatever starts a
 * calculation (WebSocket "calculate", POST /api/calculations: calcs.c) and
 * whatever follows one ("{calculation_id}" in a WebSocket channel or an SSE
 * path: request.c). The rest of calcs.c is declared in adapter.h.
 */
#ifndef RTG_CALCS_H
#define RTG_CALCS_H

#include <stdbool.h>

/* What calc__id_ok() accepts, for error messages; calcs.c checks the 64 is CALC_ID_MAX. */
#define CALC_ID_RULE "1-64 characters of A-Z a-z 0-9 _ -"

/**
 * Returns true if @p id can name a calculation: 1 to CALC_ID_MAX characters
 * of A-Z a-z 0-9 '_' '-'. Such an id is one topic level and a URL path
 * segment as it stands (no escaping, no '~' to fake another user's prefix).
 * NULL gives false.
 */
bool calc__id_ok(const char *id);

#endif /* RTG_CALCS_H */
