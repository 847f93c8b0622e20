/* trace: print every event as it comes, with its stack when asked. */
#include <stdbool.h>
#include <string.h>

#include <event-parse.h>

#include "perf-prof.h"
#include "lib/callchain.h"
#include "lib/comm.h"
#include "lib/ksyms.h"
#include "lib/session.h"
#include "lib/units.h"

static struct trace_seq seq;

/* libtraceevent asks this for %pS / %ps fields (call_site=...): our one kallsyms table. */
static char *resolve_kernel_function(void *priv, unsigned long long *addrp, char **modp)
{
	const struct ksym *sym = ksyms_find(*addrp);

	(void)priv;
	if (!sym)
		return NULL;
	*addrp = sym->addr;
	*modp = (char *)sym->module;
	return (char *)sym->name;
}

static bool prints_symbols(const struct evsel *ev)
{
	const char *fmt = ev->tp->print_fmt.format;

	return fmt && (strstr(fmt, "%pS") || strstr(fmt, "%ps") || strstr(fmt, "%pF") || strstr(fmt, "%pf"));
}

static int trace_init(struct session *s)
{
	bool need_syms = false;

	for (int i = 0; i < s->nr_evsels; i++)
		need_syms |= s->evsels[i].stack || prints_symbols(&s->evsels[i]);
	if (need_syms) {
		if (ksyms_load()) {
			pr_err("cannot read /proc/kallsyms for stacks and symbols (run as root)");
			return EXIT_RUNTIME;
		}
		tep_set_function_resolver(s->tep, resolve_kernel_function, NULL);
	}
	trace_seq_init(&seq);
	return 0;
}

static void trace_sample(struct session *s, struct evsel *ev, const struct sample *smp)
{
	struct tep_record rec = {
		.ts = smp->time, .cpu = (int)smp->cpu, .size = (int)smp->raw_size,
		.data = (void *)smp->raw,
	};
	char ts[40];
	FILE *out = s->env->out;

	trace_seq_reset(&seq);
	tep_print_event(s->tep, &seq, &rec, "%s", TEP_PRINT_INFO);
	trace_seq_terminate(&seq);
	fprintf(out, "%s [%03u] %16s %7u %s: %.*s\n", format_wallclock(smp->time, ts, sizeof(ts)),
		smp->cpu, comm_get((int)smp->tid), smp->tid, ev->name, seq.len, seq.buffer);
	if (ev->stack)
		callchain_print(out, smp->ips, smp->nr_ips, (int)smp->pid);
}

static void trace_exit(struct session *s)
{
	(void)s;
	fflush(s->env->out);
	trace_seq_destroy(&seq);
}

static struct profiler trace = {
	.name = "trace",
	.desc = "print events as they happen: TIMESTAMP CPU COMM PID EVENT: fields",
	.common = "event cpus pids tids cgroups mmap-pages watermark order exit-N call-graph "
		  "kernel-callchain user-callchain line output verbose interval",
	.init = trace_init,
	.sample = trace_sample,
	.exit = trace_exit,
};
PROFILER_REGISTER(trace);
