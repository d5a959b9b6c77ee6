# tests/fuzz/fuzz.mk - libFuzzer targets for every parser that is ours (included by the Makefile).
#
#   make fuzz                      build, then run each target for FUZZ_TIME seconds (default 60);
#                                  fails on any crash, leak, timeout or sanitizer report
#   make fuzz FUZZ_TARGETS=jwt     only some targets
#   make fuzz-build                only build them, into $(B)/fuzz/
#
# The targets are built with clang -fsanitize=fuzzer,address,undefined from their own objects
# in $(B)/fuzz/obj (the common/ and adapter/ sources compiled again with the fuzzer flags), so
# this never disturbs the normal build, and they are not part of `all` (clang may be missing).
# Seeds are in tests/fuzz/corpus/<target>/ and stay untouched: what the fuzzer finds goes to
# $(B)/fuzz/corpus/<target>/, crashing inputs to $(B)/fuzz/crashes/.

FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_TARGETS ?= ws jwt acl config msg reqparse profile
FUZZ_DIR := $(B)/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
# -fsanitize=fuzzer-no-link: coverage for libFuzzer without its main(), for every object.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARNINGS) -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link $(FUZZ_SAN) -DRTG_SRCDIR='"$(CURDIR)"'
FUZZ_LDFLAGS := -fsanitize=fuzzer $(FUZZ_SAN)

FUZZ_COMMON_OBJ := $(COMMON_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
# The ws target drives the whole adapter except its main().
FUZZ_ADAPTER_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(filter-out adapter/main.c,$(ADAPTER_SRC)))
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_LIBS := $(ADAPTER_LIBS) $(MOSQ_LIBS)

$(FUZZ_DIR)/obj/common/%.o: common/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(COMMON_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj/adapter/%.o: adapter/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(ADAPTER_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(ADAPTER_CFLAGS) -Itests/fuzz -MMD -MP -c $< -o $@

$(FUZZ_DIR)/fuzz_ws: $(FUZZ_DIR)/obj/fuzz/fuzz_ws.o $(FUZZ_ADAPTER_OBJ) $(FUZZ_COMMON_OBJ)
$(FUZZ_DIR)/fuzz_jwt: $(FUZZ_DIR)/obj/fuzz/fuzz_jwt.o $(FUZZ_COMMON_OBJ)
$(FUZZ_DIR)/fuzz_acl: $(FUZZ_DIR)/obj/fuzz/fuzz_acl.o $(FUZZ_COMMON_OBJ)
$(FUZZ_DIR)/fuzz_config: $(FUZZ_DIR)/obj/fuzz/fuzz_config.o $(FUZZ_DIR)/obj/adapter/config.o \
	$(FUZZ_DIR)/obj/adapter/config_brokers.o $(FUZZ_DIR)/obj/common/rtg_broker.o
$(FUZZ_DIR)/fuzz_msg: $(FUZZ_DIR)/obj/fuzz/fuzz_msg.o $(FUZZ_DIR)/obj/adapter/core/msg.o \
	$(FUZZ_DIR)/obj/common/rtg_json.o \
	$(FUZZ_DIR)/obj/adapter/core/jtext.o
$(FUZZ_DIR)/fuzz_reqparse: $(FUZZ_DIR)/obj/fuzz/fuzz_reqparse.o $(FUZZ_DIR)/obj/adapter/policy/reqparse.o
$(FUZZ_DIR)/fuzz_profile: $(FUZZ_DIR)/obj/fuzz/fuzz_profile.o \
	$(PROFILE_SRC:%.c=$(FUZZ_DIR)/obj/%.o) $(FUZZ_COMMON_OBJ)

$(FUZZ_DIR)/fuzz_%:
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $^ $(FUZZ_LIBS)

# Each target: -max_total_time bounds the run; libFuzzer exits non-zero on the first crash,
# leak (ASan's LeakSanitizer), input slower than -timeout, or sanitizer report.
FUZZ_RUN = mkdir -p $(FUZZ_DIR)/corpus/$(1) $(FUZZ_DIR)/crashes && \
	$(FUZZ_DIR)/fuzz_$(1) -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/crashes/$(1)- \
		$(FUZZ_DIR)/corpus/$(1) tests/fuzz/corpus/$(1)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@set -e; $(foreach t,$(FUZZ_TARGETS),echo "fuzz: $(t) for $(FUZZ_TIME) s"; $(call FUZZ_RUN,$(t));)
	@echo "fuzz: $(FUZZ_TARGETS): no crash, leak or sanitizer report"

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
