/*
 * fuzz_util.h - what the libFuzzer targets share: the source tree's path (for
 * fixtures), a NUL-terminated copy of the input, and checks that stop the
 * run loudly when an invariant breaks (a broken invariant is as much a bug
 * as a crash, and abort() makes libFuzzer save the input).
 *
 * Header-only, static functions: each target is one .c file. Not for the
 * adapter itself. One thread (libFuzzer calls the target from one thread).
 */
#ifndef RTG_FUZZ_UTIL_H
#define RTG_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RTG_SRCDIR
#define RTG_SRCDIR "."
#endif

/* A path inside the source tree, whatever directory the target runs from. */
#define SRC_PATH(rel) RTG_SRCDIR "/" rel

/* Stops the run: libFuzzer reports a deadly signal and saves the input. */
#define FUZZ_ASSERT(cond)                                                                    \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                      \
			abort();                                                             \
		}                                                                            \
	} while (0)

/* Returns a malloc'd NUL-terminated copy of the input (NULs inside stay). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Returns true if the n bytes at s are well-formed UTF-8 (RFC 3629). */
static inline bool fuzz_utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k, need;
	uint32_t cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xE0) == 0xC0)
			need = 1;
		else if ((s[i] & 0xF0) == 0xE0)
			need = 2;
		else if ((s[i] & 0xF8) == 0xF0)
			need = 3;
		else
			return false;
		if (n - i <= need)
			return false; /* cut short by the end */
		cp = s[i] & (0x3F >> need);
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
			(need == 3 && cp < 0x10000) || cp > 0x10FFFF ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += need + 1;
	}
	return true;
}

#endif /* RTG_FUZZ_UTIL_H */
