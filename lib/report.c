/* Stack printing for reports; see report.h. Symbol lookups happen only here, per stack. */
#include <linux/perf_event.h>

#include "lib/callchain.h"
#include "lib/ksyms.h"
#include "lib/report.h"
#include "lib/sample.h"
#include "lib/stack.h"
#include "lib/usyms.h"

void report_stack_text(FILE *f, const struct stack_table *t, uint32_t id)
{
	uint32_t nr;
	const uint64_t *ips = stack_ips(t, id, &nr);

	callchain_print(f, ips, nr, (int)stack_pid(t, id));
}

/* Frame name, with or without its offset; the address when it has no symbol. */
static void frame_name(FILE *f, uint64_t ip, bool user, int pid, bool with_offset)
{
	struct usyms *us = user ? callchain_usyms(NULL) : NULL;
	const struct ksym *ks = user ? NULL : ksyms_find(ip);
	const char *name = ks ? ks->name : NULL;
	uint64_t off = ks ? ip - ks->addr : 0;
	struct usym u;

	if (us && !usyms_resolve(us, pid, ip, false, &u) && u.sym) {
		name = u.sym;
		off = u.off;
	}
	if (!name)
		fprintf(f, "0x%llx", (unsigned long long)ip);
	else if (with_offset)
		fprintf(f, "%s+0x%llx", name, (unsigned long long)off);
	else
		fputs(name, f);
}

void report_stack_folded(FILE *f, const struct stack_table *t, uint32_t id, const char *root)
{
	uint32_t nr;
	const uint64_t *ips = stack_ips(t, id, &nr);
	int pid = (int)stack_pid(t, id);
	bool user = false;
	int64_t first_user = -1;

	fputs(root, f);
	/* Find where user frames start so the halves print outermost first. */
	for (uint32_t i = 0; i < nr; i++)
		if (ips[i] == (uint64_t)PERF_CONTEXT_USER)
			first_user = i;
	for (int64_t i = (int64_t)nr - 1; i >= 0; i--) {
		if (ips[i] >= CALLCHAIN_CONTEXT_MIN)
			continue;
		user = first_user >= 0 && i > first_user;
		fputc(';', f);
		frame_name(f, ips[i], user, pid, false);
	}
}

void report_stack_json(FILE *f, const struct stack_table *t, uint32_t id)
{
	uint32_t nr;
	const uint64_t *ips = stack_ips(t, id, &nr);
	int pid = (int)stack_pid(t, id);
	bool user = false, first = true;

	fputc('[', f);
	for (uint32_t i = 0; i < nr; i++) {
		if (ips[i] >= CALLCHAIN_CONTEXT_MIN) {
			user = ips[i] == (uint64_t)PERF_CONTEXT_USER;
			continue;
		}
		fputs(first ? "\"" : ",\"", f);
		frame_name(f, ips[i], user, pid, true);
		fputc('"', f);
		first = false;
	}
	fputc(']', f);
}

void report_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

double report_pct(uint64_t part, uint64_t whole)
{
	/* Truncate, not round, so the shares of a section never add up past 100.0. */
	return whole ? (double)(uint64_t)((unsigned __int128)part * 1000 / whole) / 10.0 : 0.0;
}
