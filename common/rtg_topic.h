/*
 * rtg_topic.h - MQTT topic names, filters and how they relate.
 *
 * Matching follows MQTT 3.1.1 / 5.0 section 4.7: '+' matches one level, '#'
 * matches any number of trailing levels (including the parent level), and a
 * filter starting with a wildcard never matches a topic starting with '$'.
 * Pure functions over strings: no allocation visible to the caller, safe from
 * any thread.
 */
#ifndef RTG_TOPIC_H
#define RTG_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

/** Longest topic or filter accepted, in bytes (the MQTT string limit). */
#define RTG_TOPIC_MAX_LEN 65535

/**
 * A value from client input that becomes one topic level (a ticker, a room, a
 * user or calculation id) is shorter than this, in bytes: the @p max to pass
 * to rtg_topic_level_valid() for such values, and the size of a buffer that
 * holds one. Long enough for any real id, short enough for the stack.
 */
#define RTG_TOPIC_LEVEL_MAX 128

/**
 * Returns true if @p topic may be published to: non-empty, valid UTF-8, no
 * '+' or '#', at most RTG_TOPIC_MAX_LEN bytes.
 */
bool rtg_topic_name_valid(const char *topic);

/**
 * Returns true if @p filter is a valid subscription filter: non-empty, valid
 * UTF-8, '+' and '#' each fill a whole level, '#' only as the last level.
 * A "$share/<group>/<filter>" prefix is not understood here; see
 * rtg_topic_strip_share().
 */
bool rtg_topic_filter_valid(const char *filter);

/**
 * Returns true if the topic name @p topic matches the filter @p filter.
 * Invalid arguments never match.
 */
bool rtg_topic_matches(const char *filter, const char *topic);

/**
 * rtg_topic_matches() for a filter and a topic already known to be valid (a
 * filter checked when it was subscribed, a topic the broker delivered): the
 * same answer without checking both again, for the per-message paths (the
 * adapter's fan-out and de-duplication).
 */
bool rtg_topic_matches_valid(const char *filter, const char *topic);

/**
 * Returns true if every topic that @p filter can match is also matched by
 * @p rule (both are filters): "user/alice/#" covers "user/alice/+/x", but
 * "user/+/x" is not covered by "user/alice/#". Invalid arguments give false.
 */
bool rtg_topic_filter_covers(const char *rule, const char *filter);

/**
 * Returns true if some topic name matches both filters @p a and @p b
 * ("a/+/c" and "a/b/#" overlap; "a/b" and "a/c" do not). Invalid arguments
 * give false.
 */
bool rtg_topic_filters_overlap(const char *a, const char *b);

/**
 * Returns true if @p name can be used as one whole topic level built from
 * client input (a ticker, a room, a user or calculation id): non-empty,
 * shorter than @p max bytes, valid UTF-8, and no '/', '+', '#' or control
 * characters, so it can neither add levels nor act as a wildcard.
 */
bool rtg_topic_level_valid(const char *name, size_t max);

/**
 * For a shared subscription "$share/<group>/<filter>" returns a pointer to
 * <filter> inside @p filter (borrowed, lives as long as @p filter); for any
 * other string returns @p filter itself. Returns NULL when the string starts
 * with "$share/" but the group is empty or contains wildcards, or no filter
 * follows.
 */
const char *rtg_topic_strip_share(const char *filter);

#endif /* RTG_TOPIC_H */
