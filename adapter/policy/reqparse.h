/*
 * reqparse.h - the parts of an HTTP request the adapter reads itself, as pure
 * string functions: the value of one cookie, a ?topic= argument, and a
 * Last-Event-ID. (Which path is which endpoint: the profiles, profile.c.)
 *
 * These take plain strings (the caller copies them out of lws), so the fuzz
 * target tests/fuzz/fuzz_reqparse.c and tests/unit/test_reqparse.c can drive
 * them without sockets. Nothing here allocates, logs or touches lws. Any
 * thread (no state).
 */
#ifndef RTG_ADAPTER_REQPARSE_H
#define RTG_ADAPTER_REQPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Finds cookie @p name in a Cookie header value ("a=1; rtg_token=xyz") and
 * copies its value into @p buf (truncated to @p len - 1 bytes, always
 * NUL-terminated when @p len > 0). Pairs are separated by ';', blanks before
 * a name are skipped, the name is compared exactly (case-sensitive), and the
 * value runs to the next ';'. The first pair with that name wins.
 * @return true if the cookie is present with a non-empty value; false
 *         otherwise, with @p buf set to "" (when @p len > 0)
 */
bool reqparse__cookie(const char *header, const char *name, char *buf, size_t len);

/**
 * Reads one query argument of an SSE request. If @p arg is "topic=F" it
 * returns F, in place, with every level that is a single space turned back
 * into '+' (lws decodes an unencoded '+' as a space, form-style, and a
 * hand-typed "/sse?topic=market/+" must still work). The filter is not
 * validated here.
 * @return the filter inside @p arg, or NULL if @p arg is another argument
 */
char *reqparse__topic_arg(char *arg);

/**
 * Parses a Last-Event-ID "<epoch>-<gseq>" (the form sse.c gives events: the
 * adapter epoch, a dash, a decimal adapter-wide sequence number).
 * @param epoch this adapter run's epoch; the id must start with exactly it
 * @param gseq set to the sequence number on success, else 0
 * @return true if @p id is of this epoch and ends in 1-20 digits that fit
 *         in 64 bits (no sign, no blanks); false for anything else (an id of
 *         another run, or garbage, which means a gap to the caller)
 */
bool reqparse__event_id(const char *id, const char *epoch, uint64_t *gseq);

#endif /* RTG_ADAPTER_REQPARSE_H */
