/*
 * rtg_acl_int.h - the parsed ACL, shared by the two halves of rtg_acl: the
 * parser and loader (rtg_acl_parse.c), which builds it, and the checks
 * (rtg_acl.c), which only read it. Not part of the public API: nothing
 * outside common/rtg_acl*.c includes this file.
 */
#ifndef RTG_ACL_INT_H
#define RTG_ACL_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "rtg_acl.h"

#define ACCESS_DENY 0 /* a rule's access: deny, or RTG_ACCESS_READ | _WRITE bits */

struct acl_rule {
	char *filter;
	unsigned char access; /* ACCESS_DENY, or RTG_ACCESS_READ and/or RTG_ACCESS_WRITE */
	bool subst; /* a pattern containing %u or %c */
};

/* The rules of one "user" or "role" section, or of a global list (name NULL). */
struct acl_section {
	char *name;
	struct acl_rule *rules;
	size_t nrules, cap;
};

struct section_list {
	struct acl_section *v; /* sorted by name once the file is parsed */
	size_t n, cap;
};

struct rtg_acl {
	struct acl_section everyone; /* "topic" lines before any section */
	struct acl_section anonymous; /* "topic" lines after "anonymous": read or deny only */
	struct acl_section patterns; /* "pattern" lines, wherever they are */
	struct section_list users;
	struct section_list roles;
	size_t nrules;
};

/* Orders sections by name: qsort() after parsing, bsearch() when checking. */
int acl__section_cmp(const void *a, const void *b);

#endif /* RTG_ACL_INT_H */
