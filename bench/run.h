/*
 * run.h - the phases of one rtg-bench run (run.c): connect, hold idle and
 * measure memory, then one publishing step per rate, each with its report.
 * Single-threaded.
 */
#ifndef RTG_BENCH_RUN_H
#define RTG_BENCH_RUN_H

#include "bench.h"

#define RUN_MAX_STEPS 64

struct run_opts {
	uint32_t conns;
	uint32_t topics;
	uint32_t per_conn;
	double steps[RUN_MAX_STEPS]; /* deliveries/s, or messages/s published */
	int nsteps;
	bool steps_are_dps;
	double stop_p99_ms; /* 0: run every step */
	double warmup, duration, drain, hold, connect_timeout; /* seconds */
	uint32_t inflight;
	uint32_t slow_pct;
	double churn_per_s;
	int server_pid;
	const char *label;
};

/* Runs every phase; prints the report. Returns 0, or -1 if nothing connected. */
int run__all(const struct bench_cfg *cfg, const struct run_opts *o);

#endif
