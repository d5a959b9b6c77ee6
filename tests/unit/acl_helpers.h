/*
 * acl_helpers.h - shared helpers of the rtg_acl unit tests (test_acl.c,
 * test_acl_parse.c): parse a text that must pass or fail, ask the ACL as an
 * identity built on the stack, and run tables of checks in the spirit of
 * Mosquitto's match_helper. Header-only: each test binary is one .c file.
 */
#ifndef RTG_TEST_ACL_HELPERS_H
#define RTG_TEST_ACL_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rtg_acl.h"
#include "rtg_util.h"

#define R RTG_ACCESS_READ
#define W RTG_ACCESS_WRITE
#define S RTG_ACCESS_SUBSCRIBE
#define OK RTG_OK
#define NO RTG_ERR_DENIED
#define BAD RTG_ERR_INVAL

struct check_case {
	const char *sub; /* NULL: ask as an anonymous client (a NULL identity) */
	const char *roles; /* space-separated, or NULL for none */
	const char *client; /* client id, or NULL */
	const char *topic;
	enum rtg_access access;
	enum rtg_err expected;
};

/* ==== Helpers ================================================================================= */

static inline struct rtg_acl *parse_ok(const char *text)
{
	struct rtg_acl *acl = NULL;
	char err[1024];
	enum rtg_err rc;

	rc = rtg_acl_parse(&acl, "test.acl", text, strlen(text), err, sizeof(err));
	if (rc != RTG_OK)
		fail_msg("parse failed (%s): %s", rtg_strerror(rc), err);
	assert_non_null(acl);
	return acl;
}

/* Parses @len bytes of @text, which must fail with @expected somewhere in errbuf. */
static inline void parse_fails_len(const char *text, size_t len, const char *expected)
{
	static int sentinel;
	struct rtg_acl *acl = (struct rtg_acl *)&sentinel; /* must come back NULL */
	char err[4096];

	assert_int_equal(
		rtg_acl_parse(&acl, "test.acl", text, len, err, sizeof(err)), RTG_ERR_PARSE);
	assert_null(acl);
	if (!strstr(err, expected))
		fail_msg("expected \"%s\" in errbuf, got \"%s\"", expected, err);
}

static inline void parse_fails(const char *text, const char *expected)
{
	parse_fails_len(text, strlen(text), expected);
}

/*
 * Asks @acl as identity @sub with space-separated @roles, connected as
 * @client_id; with @sub NULL, as an anonymous client (no identity at all).
 */
static inline enum rtg_err check_as(const struct rtg_acl *acl, const char *sub, const char *roles,
	const char *client_id, const char *topic, enum rtg_access access)
{
	struct rtg_identity id = {.sub = (char *)sub};
	char buf[256], *list[8], *save = NULL, *r;
	size_t n = 0;

	if (!sub) {
		assert_null(roles); /* an anonymous client has no roles */
		return rtg_acl_check(acl, NULL, client_id, topic, access);
	}
	if (roles) {
		snprintf(buf, sizeof(buf), "%s", roles);
		for (r = strtok_r(buf, " ", &save); r && n < 8; r = strtok_r(NULL, " ", &save))
			list[n++] = r;
	}
	id.roles = n ? list : NULL;
	id.nroles = n;
	return rtg_acl_check(acl, &id, client_id, topic, access);
}

static inline const char *access_name(enum rtg_access access)
{
	if (access == R)
		return "read";
	return access == W ? "write" : "subscribe";
}

static inline void check_table(const struct rtg_acl *acl, const struct check_case *c, size_t n)
{
	enum rtg_err rc;
	size_t i;

	for (i = 0; i < n; i++) {
		rc = check_as(acl, c[i].sub, c[i].roles, c[i].client, c[i].topic, c[i].access);
		if (rc != c[i].expected)
			fail_msg("row %zu: '%s' (roles %s, client %s) %s '%s': \"%s\", want \"%s\"",
				i, c[i].sub ? c[i].sub : "(anonymous)",
				c[i].roles ? c[i].roles : "-", c[i].client ? c[i].client : "-",
				access_name(c[i].access), c[i].topic, rtg_strerror(rc),
				rtg_strerror(c[i].expected));
	}
}

/* Parses @text and checks every row of @cases against it. */
static inline void run_table(const char *text, const struct check_case *cases, size_t n)
{
	struct rtg_acl *acl = parse_ok(text);

	check_table(acl, cases, n);
	rtg_acl_free(acl);
}

/* Writes @text to a new temporary file and stores its name in @path. */
static inline void write_temp(char *path, size_t size, const char *text)
{
	int fd;

	snprintf(path, size, "/tmp/test_acl_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

#endif /* RTG_TEST_ACL_HELPERS_H */
