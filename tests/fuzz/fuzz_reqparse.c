/*
 * fuzz_reqparse.c - libFuzzer target for adapter/policy/reqparse.c: the input is one
 * request string (a Cookie header, a query argument or a Last-Event-ID) and
 * goes through every parser.
 *
 * Besides crashes it checks what each parser promises: a cookie value is
 * NUL-terminated within its buffer and is a piece of the header, a ?topic=
 * filter keeps its length, an event id accepted reads back as the same
 * number. One thread.
 */
#include <errno.h>
#include <inttypes.h>

#include "fuzz_util.h"
#include "reqparse.h"

#define EPOCH "5f3a9c01"

static void check_cookie(const char *hdr, size_t len)
{
	char buf[256];
	size_t sizes[] = {1, 2, 16, sizeof(buf)}, i;
	bool found;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		found = reqparse__cookie(hdr, "rtg_token", buf, sizes[i]);
		FUZZ_ASSERT(memchr(buf, '\0', sizes[i]) != NULL);
		FUZZ_ASSERT(found == (buf[0] != '\0'));
		FUZZ_ASSERT(!found || memmem(hdr, len, buf, strlen(buf)) != NULL);
		FUZZ_ASSERT(!found || !strchr(buf, ';'));
	}
}

static void check_topic_arg(const char *in)
{
	char *copy = strdup(in), *f;

	if (!copy)
		abort();
	f = reqparse__topic_arg(copy);
	FUZZ_ASSERT(!f || (f == copy + 6 && strlen(f) == strlen(in) - 6));
	FUZZ_ASSERT(f || strncmp(in, "topic=", 6) != 0);
	free(copy);
}

static void check_event_id(const char *id)
{
	uint64_t gseq = 7;
	unsigned long long back;
	char *end;

	if (!reqparse__event_id(id, EPOCH, &gseq)) {
		FUZZ_ASSERT(gseq == 0);
		return;
	}
	FUZZ_ASSERT(!strncmp(id, EPOCH "-", sizeof(EPOCH)));
	errno = 0;
	back = strtoull(id + sizeof(EPOCH), &end, 10);
	FUZZ_ASSERT(errno == 0 && *end == '\0' && back == gseq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	size_t len = strlen(s); /* as lws hands them over: up to the first NUL */

	check_cookie(s, len);
	check_topic_arg(s);
	check_event_id(s);
	free(s);
	return 0;
}
