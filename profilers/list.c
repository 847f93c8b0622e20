/* list: print tracepoints, optionally matching a SYS:NAME glob. */
#include <string.h>

#include "perf-prof.h"
#include "lib/tp.h"

static int print_one(void *ctx, const char *sys, const char *name)
{
	(void)ctx;
	fprintf(env.out, "%s:%s\n", sys, name);
	return 0;
}

static int list_run(struct env *e)
{
	char sys[256] = "*", name[256] = "*";
	const char *glob = e->nr_args ? e->args[0] : NULL;
	int n;

	if (e->nr_args > 1) {
		usage_error("list: takes at most one pattern, got '%s' too", e->args[1]);
		return EXIT_USAGE;
	}
	if (glob) {
		const char *colon = strchr(glob, ':');

		if (colon) {
			snprintf(sys, sizeof(sys), "%.*s", (int)(colon - glob), glob);
			snprintf(name, sizeof(name), "%s", colon + 1);
		} else {
			/* A bare word matches either half, e.g. `list kmalloc*`. */
			snprintf(name, sizeof(name), "%s", glob);
		}
	}
	if (!tracefs_events_dir())
		return EXIT_RUNTIME;
	n = tp_glob(sys, name, print_one, NULL);
	if (n == 0 && glob && !strchr(glob, ':'))
		n = tp_glob(name, "*", print_one, NULL);
	if (n < 0)
		return EXIT_RUNTIME;
	if (n == 0) {
		usage_error("list: no tracepoint matches '%s'", glob);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static struct profiler list = {
	.name = "list",
	.desc = "list tracepoints: perf-prof list ['kmem:*']",
	.common = "output",
	.run = list_run,
};
PROFILER_REGISTER(list);
