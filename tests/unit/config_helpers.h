/*
 * config_helpers.h - helpers shared by test_config.c and test_config_errors.c:
 * temporary config files, config__load() with a NULL-terminated argument list,
 * and assertions on its success or its exact error text.
 *
 * Header-only (static inline, with its own static state) because each test
 * binary is built from one .c file; include it once, after cmocka.h. The
 * temporary files live until remove_temp_files(), the group teardown.
 */
#ifndef RTG_TESTS_CONFIG_HELPERS_H
#define RTG_TESTS_CONFIG_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define MAX_ARGS 32
#define MAX_TEMP 64

static char temp_paths[MAX_TEMP][32];
static int ntemp;

/* Writes @text to a new temporary file; returns its path (valid until teardown). */
static inline const char *write_conf(const char *text)
{
	char *path;
	size_t len = strlen(text);
	int fd;

	assert_true(ntemp < MAX_TEMP);
	path = temp_paths[ntemp++];
	strcpy(path, "/tmp/rtg_config_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	return path;
}

/* Calls config__load() with "rtg-adapter" and the NULL-terminated arguments. */
static inline int load_v(
	struct adapter_config *cfg, bool *help, char *err, size_t errlen, va_list ap)
{
	char *argv[MAX_ARGS + 1];
	int argc = 0;
	const char *a;

	argv[argc++] = "rtg-adapter";
	while ((a = va_arg(ap, const char *)) != NULL) {
		assert_true(argc < MAX_ARGS);
		argv[argc++] = (char *)a;
	}
	argv[argc] = NULL;
	return config__load(cfg, argc, argv, help, err, errlen);
}

/* Loads and expects success; fails the test with the error otherwise. */
static inline void load_ok(struct adapter_config *cfg, ...)
{
	char err[512];
	bool help = true;
	va_list ap;
	int rc;

	va_start(ap, cfg);
	rc = load_v(cfg, &help, err, sizeof(err), ap);
	va_end(ap);
	if (rc != 0)
		fail_msg("config__load failed: %s", err);
	assert_false(help);
}

/* Loads and expects failure with exactly the message @expected. */
static inline void load_fails(const char *expected, ...)
{
	struct adapter_config cfg;
	char err[512];
	bool help = true;
	va_list ap;
	int rc;

	va_start(ap, expected);
	rc = load_v(&cfg, &help, err, sizeof(err), ap);
	va_end(ap);
	assert_int_equal(rc, -1);
	assert_false(help);
	assert_string_equal(err, expected);
	/* On error the strings are already released. */
	assert_null(cfg.http_host);
	assert_null(cfg.acl_file);
}

/* Ends the argument lists: a typed null pointer, as variadic functions need. */
#define END ((const char *)NULL)

/* The keys the loader insists on, so tests can focus on one thing. */
#define REQUIRED "--acl-file", "acl.conf", "--mqtt-token-file", "tok", "--jwt-secret-file", "sec"

/* Loads a file with @text and expects the error "<path>" @rest. */
static inline void file_fails(const char *text, const char *rest)
{
	char expected[256];
	const char *path = write_conf(text);

	snprintf(expected, sizeof(expected), "%s%s", path, rest);
	load_fails(expected, "-c", path, REQUIRED, END);
}

/* The group teardown: removes the files write_conf() made. */
static inline int remove_temp_files(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < ntemp; i++)
		unlink(temp_paths[i]);
	ntemp = 0;
	return 0;
}

#endif /* RTG_TESTS_CONFIG_HELPERS_H */
