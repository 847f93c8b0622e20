/* Callchain printing; see callchain.h. */
#include <linux/perf_event.h>

#include "lib/callchain.h"
#include "lib/ksyms.h"
#include "lib/sample.h"

void callchain_print(FILE *f, const uint64_t *ips, uint64_t nr, int pid)
{
	bool user = false;

	(void)pid;
	for (uint64_t i = 0; i < nr; i++) {
		uint64_t ip = ips[i];

		if (ip >= CALLCHAIN_CONTEXT_MIN) {
			user = ip == (uint64_t)PERF_CONTEXT_USER;
			continue;
		}
		if (user)
			fprintf(f, "    %016llx [unknown] ([user])\n", (unsigned long long)ip);
		else
			ksyms_print_frame(f, ip);
	}
}
