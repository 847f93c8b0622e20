/* trace: print every event as it comes, with its stack when asked. */
#include <event-parse.h>

#include "perf-prof.h"
#include "lib/callchain.h"
#include "lib/comm.h"
#include "lib/ksyms.h"
#include "lib/session.h"
#include "lib/units.h"

static struct trace_seq seq;

static int trace_init(struct session *s)
{
	for (int i = 0; i < s->nr_evsels; i++)
		if (s->evsels[i].stack && ksyms_load()) {
			pr_err("cannot read /proc/kallsyms for stacks");
			return EXIT_RUNTIME;
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
