/*
 * rtg_text.h - the lines of the project's own text files (the ACL file, the
 * endpoint profiles): read one at a time and checked the same way for each,
 * and the growable arrays their parsers fill.
 *
 * It knows no directive of either file: each parser gets its lines and says
 * what they mean. Pure functions; any thread.
 */
#ifndef RTG_TEXT_H
#define RTG_TEXT_H

#include <stddef.h>

#include "rtg_err.h"

/* The longest line accepted, with its newline. */
#define RTG_TEXT_LINE_MAX (64 * 1024)

/**
 * Called for each line: @p line is the line without its newline, NUL-terminated,
 * tabs and CRs made spaces, valid UTF-8 without control characters, and @p bad
 * is NULL; or @p line is NULL and @p bad says why the line cannot be read ("line
 * too long (64 KiB or more)", "NUL byte", "invalid UTF-8 or control
 * character"). @p line is the caller's until the function returns.
 * @return RTG_ERR_NOMEM to stop the walk; anything else goes on
 */
typedef enum rtg_err (*rtg_text_line_fn)(void *arg, unsigned lineno, char *line, const char *bad);

/**
 * Calls @p fn for every line of @p text (@p len bytes; lines end with '\n',
 * and the last one may not), numbered from 1.
 * @return RTG_ERR_NOMEM if out of memory or if @p fn returned it, else RTG_OK
 */
enum rtg_err rtg_text_lines(const char *text, size_t len, rtg_text_line_fn fn, void *arg);

/**
 * Returns @p v (@p n elements of @p elem bytes, room for *cap) with room for
 * one more, perhaps moved (the room doubles, from 8); or NULL when out of
 * memory, leaving @p v and *cap unchanged.
 */
void *rtg_text_grow(void *v, size_t n, size_t *cap, size_t elem);

#endif /* RTG_TEXT_H */
