/*
 * calc_int.h - what calc.c lends calc_credit.c: reading and checking the
 * "parameters" of a calculation and building its result. Internal to the
 * calculations; the worker and the tests use calc.h. Thread-agnostic.
 */
#ifndef CALC_INT_H
#define CALC_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "rtg_err.h"

/* What a number parameter may be. */
enum calc_bound {
	CALC_B_ANY,
	CALC_B_NON_NEGATIVE, /* >= 0 */
	CALC_B_POSITIVE, /* > 0 */
	CALC_B_RATE, /* > -1: at -100% or below (1 + r)^t means nothing */
	CALC_B_FRACTION, /* 0..1 */
	CALC_B_COUNT, /* a whole number >= 0 */
};

/* One calculation's input and outcome so far: rc is set by the first failure. */
struct calc_in {
	const cJSON *params; /* borrowed */
	char *err; /* the caller's buffer for the reason, or NULL */
	size_t errlen;
	enum rtg_err rc;
};

/* One number member for calc__add_nums(). */
struct calc_num {
	const char *name;
	double v;
};

/** Records why the parameters are invalid (rc = RTG_ERR_INVAL). @return false, to chain with && */
bool calc__bad(struct calc_in *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Clears *result and the reason. @return false (recorded) unless params is an object */
bool calc__start(struct calc_in *in, cJSON **result);

/**
 * Reads the finite number params[name] within bound @p b into *out. With
 * @p present NULL the field is required; otherwise *present says whether it
 * was given (null counts as absent) and *out keeps its default when not.
 * @return false when invalid (recorded)
 */
bool calc__get_number(
	struct calc_in *in, const char *name, enum calc_bound b, double *out, bool *present);

/** Adds each {name, value} of @p nums, ended by a NULL name. @return false when out of memory */
bool calc__add_nums(cJSON *obj, const struct calc_num *nums);

/**
 * Ends a calculation: on success (nothing recorded, @p obj made and @p ok,
 * i.e. every cJSON_Add* worked) hands @p obj to *result; otherwise frees it.
 * @return RTG_OK, the recorded error, or RTG_ERR_NOMEM (then said in err)
 */
enum rtg_err calc__finish(struct calc_in *in, cJSON *obj, bool ok, cJSON **result);

#endif /* CALC_INT_H */
