/* expr: evaluate an expression (expr.md) on every event and print its value. */
#include <inttypes.h>
#include <string.h>

#include "perf-prof.h"
#include "expr/expr.h"
#include "lib/comm.h"
#include "lib/session.h"
#include "lib/units.h"

static const char *expr_text;

static int expr_init(struct session *s)
{
	if (s->env->nr_args != 1) {
		usage_error("expr: needs exactly one expression after the options, e.g. "
			    "perf-prof expr -e kmem:kmalloc 'bytes_alloc - bytes_req'%s",
			    s->env->nr_args > 1 ? " (quote it as one argument)" : "");
		return EXIT_USAGE;
	}
	expr_text = s->env->args[0];
	for (int i = 0; i < s->nr_evsels; i++) {
		struct evsel *ev = &s->evsels[i];
		struct expr_error err;

		/* Reuse the key slot: the engine frees it, and expr needs no pairing key. */
		ev->key = expr_compile(expr_text, ev->tp, &err);
		if (!ev->key) {
			expr_print_error(stderr, ev->name, expr_text, &err);
			return EXIT_USAGE;
		}
		expr_set_output(ev->key, s->env->out);
	}
	return 0;
}

static void expr_sample(struct session *s, struct evsel *ev, const struct sample *smp)
{
	FILE *out = s->env->out;
	const char *str;
	char ts[40];
	int len;

	if (expr_has_printf(ev->key)) {
		/* printf() writes the line itself; its value is not printed. */
		expr_eval(ev->key, smp->raw, smp->raw_size);
		return;
	}
	fprintf(out, "%s [%03u] %s/%u %s: ", format_wallclock(smp->time, ts, sizeof(ts)), smp->cpu,
		comm_get((int)smp->tid), smp->tid, ev->name);
	switch (expr_result_type(ev->key)) {
	case EXPR_STR:
		if (expr_eval_str(ev->key, smp->raw, smp->raw_size, &str, &len) == 0)
			fprintf(out, "%.*s\n", len, str);
		else
			fputs("\n", out);
		break;
	case EXPR_PTR:
		fprintf(out, "0x%" PRIx64 "\n", (uint64_t)expr_eval(ev->key, smp->raw, smp->raw_size));
		break;
	default: {
		int64_t v = expr_eval(ev->key, smp->raw, smp->raw_size);

		fprintf(out, "%" PRId64 " (0x%" PRIx64 ")\n", v, (uint64_t)v);
	}
	}
}

static void expr_exit(struct session *s)
{
	for (int i = 0; i < s->nr_evsels; i++) {
		struct expr *e = s->evsels[i].key;

		if (e && expr_faults(e))
			fprintf(s->env->out, "expr errors: %" PRIu64 " (first: %s in %s of %s)\n",
				expr_faults(e), expr_first_fault(e), expr_text, s->evsels[i].name);
	}
	fflush(s->env->out);
}

static struct profiler expr_prof = {
	.name = "expr",
	.desc = "evaluate an expression on each event: perf-prof expr -e EVENT 'EXPR'",
	.common = "event cpus pids tids cgroups mmap-pages watermark order exit-N output verbose",
	.init = expr_init,
	.sample = expr_sample,
	.exit = expr_exit,
};
PROFILER_REGISTER(expr_prof);
