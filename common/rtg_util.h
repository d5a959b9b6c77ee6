/*
 * rtg_util.h - tiny helpers shared by every component.
 *
 * Header only; no allocation, no state. Safe from any thread.
 */
#ifndef RTG_UTIL_H
#define RTG_UTIL_H

#include <stddef.h>

#define UNUSED(x) ((void)(x))

#define RTG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* RTG_UTIL_H */
