/* comm cache: open addressing on tid, grown at 50% load. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/comm.h"

struct comm_slot {
	int tid;      /* 0 = empty (tid 0 is handled without the table) */
	char comm[16];
};

static struct comm_slot *slots;
static unsigned int cap, used;

static unsigned int hash_tid(int tid)
{
	return (unsigned int)tid * 2654435761u;
}

static struct comm_slot *lookup(int tid, int insert)
{
	if (cap == 0 || (insert && used * 2 >= cap)) {
		unsigned int ncap = cap ? cap * 2 : 1024;
		struct comm_slot *n = calloc(ncap, sizeof(*n)), *old = slots;
		unsigned int ocap = cap;

		if (!n)
			return NULL;
		slots = n;
		cap = ncap;
		used = 0;
		for (unsigned int i = 0; i < ocap; i++) {
			if (old[i].tid) {
				struct comm_slot *s = lookup(old[i].tid, 1);

				*s = old[i];
				used++;
			}
		}
		free(old);
	}
	for (unsigned int i = hash_tid(tid) & (cap - 1);; i = (i + 1) & (cap - 1)) {
		if (slots[i].tid == tid)
			return &slots[i];
		if (!slots[i].tid)
			return insert ? &slots[i] : NULL;
	}
}

static void read_proc_comm(int tid, char *out)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", tid);
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, out, 15) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		strcpy(out, "<...>");
		return;
	}
	out[n] = '\0';
	if (n > 0 && out[n - 1] == '\n')
		out[n - 1] = '\0';
}

const char *comm_get(int tid)
{
	struct comm_slot *s;

	if (tid <= 0)
		return "swapper";
	s = lookup(tid, 0);
	if (s)
		return s->comm;
	s = lookup(tid, 1);
	if (!s)
		return "<...>";
	s->tid = tid;
	used++;
	read_proc_comm(tid, s->comm);
	return s->comm;
}

void comm_set(int tid, const char *comm)
{
	struct comm_slot *s;

	if (tid <= 0 || !(s = lookup(tid, 1)))
		return;
	if (!s->tid)
		used++;
	s->tid = tid;
	snprintf(s->comm, sizeof(s->comm), "%s", comm);
}

void comm_free(void)
{
	free(slots);
	slots = NULL;
	cap = used = 0;
}
