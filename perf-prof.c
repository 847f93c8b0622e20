/*
 * perf-prof main: argv -> profiler registry -> run loop.
 *
 * One getopt_long table is built per run from the common options the
 * chosen profiler accepts plus its own, so `PROFILER --help` shows only
 * what applies and anything else is a usage error naming the option.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perf-prof.h"
#include "lib/session.h"
#include "lib/units.h"

static struct profiler *registry;

void profiler_register(struct profiler *p)
{
	/* Keep the registry sorted by name so --help is stable. */
	struct profiler **pp = &registry;

	while (*pp && strcmp((*pp)->name, p->name) < 0)
		pp = &(*pp)->next;
	p->next = *pp;
	*pp = p;
}

struct profiler *profiler_find(const char *name)
{
	for (struct profiler *p = registry; p; p = p->next)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

struct profiler *profiler_first(void)
{
	return registry;
}

enum {
	OPT_CGROUPS = 256, OPT_WATERMARK, OPT_ORDER, OPT_THAN, OPT_KCALLCHAIN,
	OPT_UCALLCHAIN, OPT_LINE, OPT_FORMAT, OPT_TOP, OPT_MAXLIVE,
};

static const struct prof_option common_opts[] = {
	{ "event", 'e', true, "SPEC", "event selector, repeatable (sys:name/filter/attr/)" },
	{ "cpus", 'C', true, "LIST", "CPUs to watch, e.g. 0-3,6 (default: all online)" },
	{ "pids", 'p', true, "LIST", "only these processes" },
	{ "tids", 't', true, "LIST", "only these threads" },
	{ "cgroups", OPT_CGROUPS, true, "NAME", "only tasks of this cgroup v2 path" },
	{ "mmap-pages", 'm', true, "N", "ring pages per CPU, power of two (default 64)" },
	{ "watermark", OPT_WATERMARK, true, "PCT", "wake the reader when the ring is PCT% full (default 50)" },
	{ "order", OPT_ORDER, false, NULL, "merge all CPUs into one time order" },
	{ "interval", 'i', true, "MS", "report every MS milliseconds (0: only at the end)" },
	{ "exit-N", 'N', true, "N", "stop after N events" },
	{ "than", OPT_THAN, true, "TIME", "threshold, e.g. 100us, 10ms, 1s" },
	{ "call-graph", 'g', false, NULL, "every event gets `stack`" },
	{ "kernel-callchain", OPT_KCALLCHAIN, false, NULL, "keep kernel frames of callchains (default)" },
	{ "user-callchain", OPT_UCALLCHAIN, false, NULL, "keep user frames of callchains" },
	{ "line", OPT_LINE, false, NULL, "print file:line for user frames" },
	{ "output", 'o', true, "FILE", "write the report to FILE" },
	{ "format", OPT_FORMAT, true, "FMT", "report format: text, json, folded, pprof" },
	{ "key", 'k', true, "FIELD", "default key field for pairing" },
	{ "top", OPT_TOP, true, "N", "print the top N stacks (default 10)" },
	{ "max-live", OPT_MAXLIVE, true, "N", "bound live records; the oldest are evicted and counted" },
	{ "verbose", 'v', false, NULL, "say what is opened, filters, rings, lost counts" },
	{ NULL, 0, false, NULL, NULL },
};

/* Is `word` one of the space separated words of `list`? */
static bool in_word_list(const char *list, const char *word)
{
	const char *s = list;
	size_t n = strlen(word);

	while ((s = strstr(s, word))) {
		bool start = s == list || s[-1] == ' ';
		bool end = s[n] == '\0' || s[n] == ' ';

		if (start && end)
			return true;
		s += n;
	}
	return false;
}

static bool common_allowed(const struct profiler *p, const char *name)
{
	return !p->common || in_word_list(p->common, name);
}

/* One place checks --format for every profiler, from its own list. */
static int check_format(const struct profiler *p)
{
	const char *formats = p->formats ? p->formats : "text";

	if (!in_word_list(formats, env.format)) {
		usage_error("%s: --format %s is not supported here (%s)", p->name, env.format, formats);
		return -1;
	}
	if (!strcmp(env.format, "pprof") && !env.output) {
		usage_error("%s: --format pprof writes a binary file: give it with -o FILE", p->name);
		return -1;
	}
	return 0;
}

static bool short_taken(const struct profiler *p, int key)
{
	for (const struct prof_option *o = p->opts; o && o->name; o++)
		if (o->key == key)
			return true;
	return false;
}

static void print_option(const struct prof_option *o, bool short_ok)
{
	char left[64];
	int n = 0;

	if (o->key < 256 && short_ok)
		n = snprintf(left, sizeof(left), "-%c, ", o->key);
	else
		n = snprintf(left, sizeof(left), "    ");
	snprintf(left + n, sizeof(left) - n, "--%s%s%s", o->name,
		 o->has_arg ? " " : "", o->has_arg ? o->arg_name : "");
	printf("  %-28s %s\n", left, o->help);
}

static void profiler_help(const struct profiler *p)
{
	printf("Usage: perf-prof %s [OPTION...]%s\n%s\n\n", p->name,
	       p->run ? "" : " [-- CMD [ARGS]]", p->desc);
	for (const struct prof_option *o = p->opts; o && o->name; o++)
		print_option(o, true);
	for (const struct prof_option *o = common_opts; o->name; o++)
		if (common_allowed(p, o->name))
			print_option(o, !short_taken(p, o->key));
	print_option(&(struct prof_option){ "help", 'h', false, NULL, "show this help" }, true);
}

static void main_help(void)
{
	printf("Usage: perf-prof PROFILER [OPTION...]\n"
	       "A Linux kernel memory profiler on tracepoints and BPF.\n\nProfilers:\n");
	for (struct profiler *p = registry; p; p = p->next)
		printf("  %-14s %s\n", p->name, p->desc);
	printf("\n'perf-prof PROFILER --help' lists the options of one profiler.\n");
}

static int parse_long(const char *opt, const char *arg, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 0);
	if (errno || end == arg || *end || v < min || v > max) {
		usage_error("bad value '%s' for %s (expected a number from %ld to %ld)",
			    arg, opt, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_common(int key, const char *arg)
{
	long v;

	switch (key) {
	case 'e':
		if (env.nr_events == MAX_EVENT_ARGS) {
			usage_error("too many -e options (at most %d)", MAX_EVENT_ARGS);
			return -1;
		}
		env.events[env.nr_events++] = arg;
		return 0;
	case 'C': env.cpus = arg; return 0;
	case 'p': env.pids = arg; return 0;
	case 't': env.tids = arg; return 0;
	case OPT_CGROUPS: env.cgroup = arg; return 0;
	case 'm':
		if (parse_long("-m", arg, 1, 1 << 20, &v))
			return -1;
		if (v & (v - 1)) {
			usage_error("bad value '%s' for -m (expected a power of two)", arg);
			return -1;
		}
		env.mmap_pages = (int)v;
		return 0;
	case OPT_WATERMARK:
		if (parse_long("--watermark", arg, 1, 100, &v))
			return -1;
		env.watermark = (int)v;
		return 0;
	case OPT_ORDER: env.order = true; return 0;
	case 'i': return parse_long("-i", arg, 0, 86400000L, &env.interval_ms);
	case 'N': return parse_long("-N", arg, 1, 1L << 62, &env.exit_n);
	case OPT_THAN:
		if (parse_duration_ns(arg, &env.than_ns)) {
			usage_error("bad value '%s' for --than (expected e.g. 500ns, 100us, 10ms, 1s)", arg);
			return -1;
		}
		return 0;
	case 'g': env.callchain = true; return 0;
	case OPT_KCALLCHAIN: env.kernel_callchain = true; return 0;
	case OPT_UCALLCHAIN: env.user_callchain = true; return 0;
	case OPT_LINE: env.line = true; return 0;
	case 'o': env.output = arg; return 0;
	case OPT_FORMAT:
		if (strcmp(arg, "text") && strcmp(arg, "json") && strcmp(arg, "folded") &&
		    strcmp(arg, "pprof")) {
			usage_error("bad value '%s' for --format (expected text, json, folded or pprof)", arg);
			return -1;
		}
		env.format = arg;
		return 0;
	case 'k': env.key = arg; return 0;
	case OPT_TOP:
		if (parse_long("--top", arg, 1, 1000000, &v))
			return -1;
		env.top = (int)v;
		return 0;
	case OPT_MAXLIVE: return parse_long("--max-live", arg, 1, 1L << 40, &env.max_live);
	case 'v': env.verbose++; return 0;
	}
	return -1;
}

#define MAX_OPTS 64

static void add_opt(struct option *lo, int *nlo, char *so, const struct prof_option *o, bool short_ok)
{
	lo[*nlo] = (struct option){ o->name, o->has_arg ? required_argument : no_argument, NULL, o->key };
	(*nlo)++;
	if (o->key < 256 && short_ok) {
		size_t n = strlen(so);

		so[n++] = (char)o->key;
		if (o->has_arg)
			so[n++] = ':';
		so[n] = '\0';
	}
}

static bool is_own_key(const struct profiler *p, int key)
{
	return short_taken(p, key);
}

static int parse_args(struct profiler *p, int argc, char **argv)
{
	struct option lo[MAX_OPTS];
	char so[3 * MAX_OPTS] = ":";
	int nlo = 0, c;

	for (const struct prof_option *o = p->opts; o && o->name; o++)
		add_opt(lo, &nlo, so, o, true);
	for (const struct prof_option *o = common_opts; o->name; o++)
		if (common_allowed(p, o->name))
			add_opt(lo, &nlo, so, o, !short_taken(p, o->key));
	add_opt(lo, &nlo, so, &(struct prof_option){ "help", 'h', false, NULL, NULL }, true);
	lo[nlo] = (struct option){ 0 };

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (c == 'h' && !is_own_key(p, 'h')) {
			profiler_help(p);
			exit(EXIT_OK);
		}
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];

			if (optopt && optopt < 256 && bad[0] == '-' && bad[1] != '-')
				usage_error("%s: %s option '-%c' (see 'perf-prof %s --help')", p->name,
					    c == ':' || strchr(so, optopt) ? "missing value for" : "unknown",
					    optopt, p->name);
			else
				usage_error("%s: unknown option or missing value '%s' (see 'perf-prof %s --help')",
					    p->name, bad, p->name);
			return -1;
		}
		if (is_own_key(p, c)) {
			if (!p->parse_opt || p->parse_opt(c, optarg))
				return -1;
		} else if (parse_common(c, optarg)) {
			return -1;
		}
	}
	env.args = argv + optind;
	env.nr_args = argc - optind;
	return 0;
}

static void env_defaults(void)
{
	env.mmap_pages = 64;
	env.watermark = 50;
	env.top = 10;
	env.format = "text";
	env.out = stdout;
}

int main(int argc, char **argv)
{
	struct profiler *p;
	int ret;

	env_defaults();
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		main_help();
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	p = profiler_find(argv[1]);
	if (!p) {
		usage_error("unknown profiler '%s' (see 'perf-prof --help')", argv[1]);
		return EXIT_USAGE;
	}
	/* Split off a trailing "-- CMD ARGS" before getopt sees it. */
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			argv[i] = NULL;
			env.cmd_argv = i + 1 < argc ? argv + i + 1 : NULL;
			argc = i;
			break;
		}
	}
	if (parse_args(p, argc - 1, argv + 1) || check_format(p))
		return EXIT_USAGE;
	if (env.output) {
		env.out = fopen(env.output, "w");
		if (!env.out) {
			usage_error("cannot write '%s': %s", env.output, strerror(errno));
			return EXIT_USAGE;
		}
	}
	/* Files and pipes get big writes; a terminal keeps seeing lines as they come. */
	if (!isatty(fileno(env.out)))
		setvbuf(env.out, NULL, _IOFBF, 1 << 18);
	if (p->run)
		ret = p->run(&env);
	else
		ret = session_run(p, &env);
	if (env.out != stdout)
		fclose(env.out);
	return ret;
}
