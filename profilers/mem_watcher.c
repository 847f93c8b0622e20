/*
 * mem_watcher: the seed tool's command line over the BPF views, so its
 * users can switch: -a paf, -p pr, -r procstat (-R RSS columns, -P PID),
 * -s sysstat (-n part 2), -l memleak (-P PID). Output keeps the seed's
 * column layouts.
 */
#include <string.h>

#include "bpf/bpfview.h"

enum {
	OPT_PAF = 'a', OPT_PR = 'p', OPT_PID = 'P', OPT_PROCSTAT = 'r', OPT_RSS = 'R',
	OPT_SYSSTAT = 's', OPT_PART2 = 'n', OPT_MEMLEAK = 'l', OPT_DURATION = 256,
};

static struct bv_view_opts opts = { .seed_layout = true };
static int chosen;      /* the view flag, 0 = none yet */
static int nr_chosen;

static int mw_parse_opt(int key, const char *arg)
{
	switch (key) {
	case OPT_PAF:
	case OPT_PR:
	case OPT_PROCSTAT:
	case OPT_SYSSTAT:
	case OPT_MEMLEAK:
		if (chosen != key)
			nr_chosen++;
		chosen = key;
		return 0;
	case OPT_PID: opts.pids = arg; return 0;
	case OPT_RSS: opts.rss_only = true; return 0;
	case OPT_PART2: opts.part2 = true; return 0;
	case OPT_DURATION: return bv_parse_duration("mem_watcher", arg, &opts.duration_ns);
	}
	return -1;
}

static int mw_run(struct env *e)
{
	if (nr_chosen != 1) {
		usage_error("mem_watcher: choose one of -a (paf), -p (pr), -r (procstat), -s (sysstat), -l (memleak)");
		return EXIT_USAGE;
	}
	if (opts.pids && chosen != OPT_PROCSTAT && chosen != OPT_MEMLEAK) {
		usage_error("mem_watcher: -P/--choose_pid goes with -r or -l");
		return EXIT_USAGE;
	}
	switch (chosen) {
	case OPT_PAF: return paf_main(e, &opts);
	case OPT_PR: return pr_main(e, &opts);
	case OPT_PROCSTAT: return procstat_main(e, &opts);
	case OPT_SYSSTAT: return sysstat_main(e, &opts);
	case OPT_MEMLEAK:
		if (!opts.pids) {
			usage_error("mem_watcher: -l traces user leaks of -P PID; kernel leaks are traced by 'perf-prof kmemleak'");
			return EXIT_USAGE;
		}
		return memleak_main(e, &opts);
	}
	return EXIT_USAGE;
}

static const struct prof_option mw_opts[] = {
	{ "paf", OPT_PAF, false, NULL, "print paf (zone watermarks and allocation flags)" },
	{ "pr", OPT_PR, false, NULL, "print pr (page reclaim)" },
	{ "choose_pid", OPT_PID, true, "PID", "the process for -r or -l" },
	{ "procstat", OPT_PROCSTAT, false, NULL, "print procstat (process memory)" },
	{ "Rss", OPT_RSS, false, NULL, "with -r: the RSS columns" },
	{ "sysstat", OPT_SYSSTAT, false, NULL, "print sysstat (system memory)" },
	{ "part2", OPT_PART2, false, NULL, "with -s: the second column set" },
	{ "memleak", OPT_MEMLEAK, false, NULL, "print memleak (user-space leaks of -P PID)" },
	{ "duration", OPT_DURATION, true, "TIME", "stop after TIME (e.g. 10, 10s, 500ms)" },
	{ NULL, 0, false, NULL, NULL },
};

static struct profiler mem_watcher = {
	.name = "mem_watcher",
	.desc = "the mem_watcher tool's flags and columns over paf, pr, procstat, sysstat, memleak",
	.common = "",
	.opts = mw_opts,
	.parse_opt = mw_parse_opt,
	.run = mw_run,
};
PROFILER_REGISTER(mem_watcher);
