/*
 * rtg_log.c - formats a line and hands it to the sink (rtg_log.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "rtg_log.h"

static rtg_log_sink current;

void rtg_log_set_sink(rtg_log_sink sink)
{
	current = sink;
}

void rtg_log(enum rtg_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (current)
		current(level, line);
	else
		fputs(line, stderr);
}
