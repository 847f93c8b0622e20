/* Messages to the user and the global option block. */
#include <stdarg.h>
#include <stdio.h>

#include "perf-prof.h"

struct env env;

static void vsay(const char *fmt, va_list ap)
{
	fputs("perf-prof: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

void pr_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

void pr_verbose(int level, const char *fmt, ...)
{
	va_list ap;

	if (env.verbose < level)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}
