/*
 * rtg_log.h - one logging call for code that must not depend on its host's
 * logger: the adapter's core and policy layers log through it, and the
 * adapter points it at libwebsockets' log (main.c), the unit tests at
 * stderr (the default).
 */
#ifndef RTG_LOG_H
#define RTG_LOG_H

enum rtg_log_level {
	RTG_LOG_ERR,
	RTG_LOG_WARN,
	RTG_LOG_NOTICE,
	RTG_LOG_INFO,
	RTG_LOG_DEBUG,
};

/* Receives one formatted line (ending in '\n'); must not call rtg_log(). */
typedef void (*rtg_log_sink)(enum rtg_log_level level, const char *line);

/* Sets where lines go; NULL: stderr, every level (the default). */
void rtg_log_set_sink(rtg_log_sink sink);

void rtg_log(enum rtg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define rtg_err(...) rtg_log(RTG_LOG_ERR, __VA_ARGS__)
#define rtg_warn(...) rtg_log(RTG_LOG_WARN, __VA_ARGS__)
#define rtg_notice(...) rtg_log(RTG_LOG_NOTICE, __VA_ARGS__)
#define rtg_info(...) rtg_log(RTG_LOG_INFO, __VA_ARGS__)

#endif /* RTG_LOG_H */
