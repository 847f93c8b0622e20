/* Callchain interning and printing; see callchain.h. */
#include <linux/perf_event.h>

#include "lib/callchain.h"
#include "lib/ksyms.h"
#include "lib/sample.h"
#include "lib/stack.h"
#include "lib/usyms.h"

static struct usyms *user_syms;
static bool user_line;

void callchain_set_usyms(struct usyms *u, bool want_line)
{
	user_syms = u;
	user_line = want_line;
}

struct usyms *callchain_usyms(bool *want_line)
{
	if (want_line)
		*want_line = user_line;
	return user_syms;
}

bool callchain_has_user(const uint64_t *ips, uint64_t nr)
{
	for (uint64_t i = 0; i < nr; i++)
		if (ips[i] == (uint64_t)PERF_CONTEXT_USER)
			return true;
	return false;
}

uint32_t callchain_intern(struct stack_table *t, uint32_t salt, uint32_t pid, const uint64_t *ips, uint64_t nr)
{
	uint32_t before, id;

	/* Kernel-only chains are the same code in every process: they merge across pids. */
	if (!user_syms || !callchain_has_user(ips, nr))
		return stack_intern(t, salt, ips, (uint32_t)nr);
	before = stack_count(t);
	id = stack_intern_pid(t, salt, pid, ips, (uint32_t)nr);
	/* Only a new stack does this lookup: once per (process, chain), not per event. */
	if (id > before)
		usyms_keep(user_syms, (int)pid);
	return id;
}

void callchain_print(FILE *f, const uint64_t *ips, uint64_t nr, int pid)
{
	bool user = false;

	for (uint64_t i = 0; i < nr; i++) {
		uint64_t ip = ips[i];

		if (ip >= CALLCHAIN_CONTEXT_MIN) {
			user = ip == (uint64_t)PERF_CONTEXT_USER;
			continue;
		}
		if (!user)
			ksyms_print_frame(f, ip);
		else if (user_syms)
			usyms_print_frame(f, user_syms, pid, ip, user_line);
		else
			fprintf(f, "    %016llx [unknown] ([user])\n", (unsigned long long)ip);
	}
}
