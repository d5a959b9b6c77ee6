/*
 * fuzz_config.c - libFuzzer target for the adapter's configuration parser
 * (adapter/config.c, config__load with -c FILE and --flags).
 *
 * Input: the file text up to the first NUL byte, written to a memfd that is
 * passed as "-c /proc/self/fd/N"; after that NUL, extra argv words separated
 * by NUL bytes (flags such as "--http-port\0" "8001"). Besides crashes it
 * checks config.h's promises: on error one line of text and nothing left to
 * free, on success every required key set and every number within bounds
 * the parser was given. One thread.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_util.h"

#define MAX_ARGS 32

static int memfd = -1;
static char path[64];

static void setup(void)
{
	memfd = memfd_create("adapter.conf", 0);
	if (memfd < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	/* -h/--help print the usage text; the fuzzer finds them quickly. */
	if (!freopen("/dev/null", "w", stdout))
		abort();
}

static void check_loaded(const struct adapter_config *cfg)
{
	FUZZ_ASSERT(cfg->mqtt_token_file && cfg->acl_file);
	FUZZ_ASSERT(cfg->jwt_secret_file || cfg->jwt_public_key_file);
	FUZZ_ASSERT(cfg->http_host && cfg->log_level && cfg->stats_access);
	FUZZ_ASSERT(cfg->http_port >= 0 && cfg->http_port <= 65535);
	FUZZ_ASSERT(cfg->mqtt_port >= 1 && cfg->mqtt_port <= 65535);
	FUZZ_ASSERT(cfg->history_size >= 0 && cfg->history_max_topics >= 1);
	FUZZ_ASSERT(cfg->max_message_size >= 256 && cfg->queue_max_messages >= 1);
	FUZZ_ASSERT(!cfg->tls_cert_file == !cfg->tls_key_file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t flen = nul ? (size_t)(nul - data) : size;
	char *words = NULL, *argv[MAX_ARGS + 4], err[512];
	struct adapter_config cfg;
	int argc = 0, rc;
	bool help = false;
	size_t i;

	if (memfd < 0)
		setup();
	if (ftruncate(memfd, 0) || pwrite(memfd, data, flen, 0) != (ssize_t)flen)
		abort();
	argv[argc++] = "rtg-adapter";
	argv[argc++] = "-c";
	argv[argc++] = path;
	if (nul) {
		words = fuzz_strndup(nul + 1, size - flen - 1);
		argv[argc++] = words;
		for (i = 0; i < size - flen - 1 && argc < MAX_ARGS; i++) {
			if (!words[i])
				argv[argc++] = words + i + 1;
		}
	}
	argv[argc] = NULL;
	memset(err, 'x', sizeof(err));
	memset(&cfg, 0, sizeof(cfg));
	rc = config__load(&cfg, argc, argv, &help, err, sizeof(err));
	FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL);
	if (rc) {
		FUZZ_ASSERT(err[0] != '\0');
		/* One line per error, every error at once: from the file alone (argv words may hold
		 * newlines) no line is empty, and none starts or ends the message. */
		FUZZ_ASSERT(nul ||
			(err[0] != '\n' && err[strlen(err) - 1] != '\n' && !strstr(err, "\n\n")));
		FUZZ_ASSERT(!cfg.acl_file && !cfg.http_host);
	} else if (!help) {
		check_loaded(&cfg);
	}
	config__cleanup(&cfg);
	config__cleanup(&cfg);
	free(words);
	return 0;
}
