/*
 * rtg_acl.h - the ACL file: Mosquitto's acl_file syntax plus role and anonymous sections.
 *
 *   # comment                      blank lines and comments are ignored
 *   topic [read|write|readwrite|deny] <filter>   in the current section
 *   user <sub>                     starts a section for the token subject <sub>
 *   role <name>                    starts a section for tokens carrying role <name>
 *   anonymous                      starts the section for clients without a token;
 *                                  its topic lines may only be read or deny
 *   pattern [read|write|readwrite|deny] <filter>  for every authenticated client,
 *                                  wherever it appears; %u = sub, %c = client id
 *
 * "topic" lines before any section apply to every authenticated client (in
 * Mosquitto they would apply to anonymous ones). An anonymous client (a NULL
 * identity) gets the anonymous section(s) and nothing else, so an ACL without
 * one gives it nothing. Deny wins over allow; anything not allowed is denied.
 * A file with any broken line is refused whole. A parsed ACL is immutable, so
 * checks may run from any thread.
 */
#ifndef RTG_ACL_H
#define RTG_ACL_H

#include <stddef.h>

#include "rtg_err.h"
#include "rtg_jwt.h"

enum rtg_access {
	RTG_ACCESS_READ = 1, /* receive messages on a topic name */
	RTG_ACCESS_WRITE = 2, /* publish to a topic name */
	RTG_ACCESS_SUBSCRIBE =
		4, /* subscribe to a filter: one read rule must cover all it can match */
};

struct rtg_acl;

/**
 * Parses the ACL file at @p path.
 * @param out set to the parsed ACL, or NULL on error; free with rtg_acl_free()
 * @param errbuf if not NULL, receives "file:line: reason" for every broken line
 *        (one per line, truncated to @p errlen), or the I/O error
 * @return RTG_OK, RTG_ERR_IO, RTG_ERR_PARSE, RTG_ERR_NOMEM, RTG_ERR_INVAL
 */
enum rtg_err rtg_acl_load(struct rtg_acl **out, const char *path, char *errbuf, size_t errlen);

/**
 * Parses ACL text held in memory; @p name is used in error messages in place
 * of the file name. Same results as rtg_acl_load().
 */
enum rtg_err rtg_acl_parse(struct rtg_acl **out, const char *name, const char *text, size_t len,
	char *errbuf, size_t errlen);

/** Frees an ACL. NULL is a no-op. */
void rtg_acl_free(struct rtg_acl *acl);

/** Returns the number of rules (topic and pattern lines, all sections) in @p acl. */
size_t rtg_acl_rule_count(const struct rtg_acl *acl);

/**
 * Decides whether identity @p id, connected as @p client_id (may be NULL:
 * %c rules then never apply), may have @p access to @p topic.
 * @p id NULL means an anonymous client (no token): only the rules of the
 * anonymous section(s) apply to it, never the top-level, user, role or
 * pattern rules, so it may at most read. A non-NULL @p id never gets the
 * anonymous rules. Callers that require a token must refuse before asking.
 * For RTG_ACCESS_READ and RTG_ACCESS_WRITE @p topic must be a topic name; for
 * RTG_ACCESS_SUBSCRIBE it is a filter, possibly "$share/<group>/<filter>", and
 * is allowed only if no applicable deny rule overlaps it and one applicable
 * read rule covers it (two rules that only together cover it are not enough).
 * A %u or %c substitution whose value is NULL, empty, or contains '/', '+' or
 * '#' makes that rule not apply.
 * @return RTG_OK if allowed, RTG_ERR_DENIED if not, RTG_ERR_INVAL for a NULL
 *         @p acl or @p topic, an @p id whose sub is NULL, an unknown @p access,
 *         or an invalid topic/filter
 */
enum rtg_err rtg_acl_check(const struct rtg_acl *acl, const struct rtg_identity *id,
	const char *client_id, const char *topic, enum rtg_access access);

#endif /* RTG_ACL_H */
