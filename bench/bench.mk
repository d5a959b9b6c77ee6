# bench/bench.mk - rtg-bench, the fan-out load client, and `make bench`.
# Included by the Makefile (before `all:`), so only variables it has already
# set (B, CFLAGS, LDFLAGS, ALL) are used here. rtg-bench has no library
# dependency: it speaks HTTP, WebSocket and MQTT itself (see bench/proto.c).
# rtg-floor (bench/floor.c) is the reference: a bare send() loop.

BENCH_SRC := bench/main.c bench/run.c bench/conn.c bench/proto.c bench/hist.c
BENCH_OBJ := $(BENCH_SRC:%.c=$(B)/obj/%.o)
BENCH := $(B)/rtg-bench

$(B)/obj/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ibench -MMD -MP -c $< -o $@

$(BENCH): $(BENCH_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^

# rtg-floor: a bare send() loop to N loopback clients, the reference line.
FLOOR := $(B)/rtg-floor

$(FLOOR): $(B)/obj/bench/floor.o $(B)/obj/bench/hist.o
	$(CC) $(LDFLAGS) -o $@ $^

ALL += $(BENCH) $(FLOOR)

# FORMAT_FILES cannot be extended from here: the Makefile defines it after this
# include with a plain `=`, which replaces anything added before. Until the
# Makefile lists bench/*.[ch] itself, `make bench-format` formats these files.
BENCH_FORMAT_FILES = $(wildcard bench/*.[ch])

.PHONY: bench bench-quick bench-format
# The whole run, under 10 minutes; QUICK=1 for about one minute.
bench: all
	@B=$(B) bench/run.sh

bench-quick: all
	@B=$(B) QUICK=1 bench/run.sh

bench-format:
	clang-format -i $(BENCH_FORMAT_FILES)
