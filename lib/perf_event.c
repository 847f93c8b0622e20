/* perf_event_open wrappers; see perf_event.h. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/perf_event.h"
#include "lib/sample.h"

void pe_tp_attr(struct perf_event_attr *attr, const struct pe_tp_opts *o)
{
	memset(attr, 0, sizeof(*attr));
	attr->size = sizeof(*attr);
	attr->type = PERF_TYPE_TRACEPOINT;
	attr->config = (uint64_t)o->tp_id;
	attr->sample_period = 1;
	attr->sample_type = SAMPLE_BASE_TYPE;
	if (o->callchain) {
		attr->sample_type |= PERF_SAMPLE_CALLCHAIN;
		attr->exclude_callchain_kernel = !o->kernel_callchain;
		attr->exclude_callchain_user = !o->user_callchain;
		if (o->max_stack > 0)
			attr->sample_max_stack = (uint16_t)o->max_stack;
	}
	attr->disabled = 1;
	/* Sample times on CLOCK_MONOTONIC so the merge can compare them with "now". */
	attr->use_clockid = 1;
	attr->clockid = CLOCK_MONOTONIC;
	attr->watermark = 1;
	attr->wakeup_watermark = o->wakeup_bytes;
	attr->comm = o->track_comm;
	/*
	 * The kernel writes PERF_RECORD_LOST only before the next record that
	 * fits; losses at the end of a run would go unseen. read() with
	 * PERF_FORMAT_LOST gives the exact per-event count (Linux 6.0+).
	 */
	attr->read_format = PERF_FORMAT_LOST;
	attr->comm_exec = o->track_comm;
	/*
	 * User frames are resolved at report time, when a short-lived process
	 * may be gone: its mappings come with the samples instead (mmap2 adds
	 * device and inode, so a replaced file is not mistaken for the old one).
	 */
	attr->mmap = o->track_maps;
	attr->mmap2 = o->track_maps;
	attr->task = o->track_maps;
}

int pe_open(struct perf_event_attr *attr, int pid, int cpu, int group_fd, unsigned long flags)
{
	long fd = syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags | PERF_FLAG_FD_CLOEXEC);

	/* Kernels before 6.0 refuse PERF_FORMAT_LOST: do without, lost records still count. */
	if (fd < 0 && errno == EINVAL && (attr->read_format & PERF_FORMAT_LOST)) {
		attr->read_format &= ~(uint64_t)PERF_FORMAT_LOST;
		fd = syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags | PERF_FLAG_FD_CLOEXEC);
	}
	return fd < 0 ? -errno : (int)fd;
}

int pe_read_counts(int fd, uint64_t *count, uint64_t *lost)
{
	uint64_t v[2];

	if (read(fd, v, sizeof(v)) != (ssize_t)sizeof(v))
		return -1;
	*count = v[0];
	*lost = v[1];
	return 0;
}

int pe_set_output(int fd, int into)
{
	return ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, into) ? -errno : 0;
}

int pe_set_filter(int fd, const char *filter)
{
	return ioctl(fd, PERF_EVENT_IOC_SET_FILTER, filter) ? -errno : 0;
}

int pe_enable(int fd)
{
	return ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) ? -errno : 0;
}

int pe_disable(int fd)
{
	return ioctl(fd, PERF_EVENT_IOC_DISABLE, 0) ? -errno : 0;
}

int pe_id(int fd, uint64_t *id)
{
	return ioctl(fd, PERF_EVENT_IOC_ID, id) ? -errno : 0;
}

const char *pe_strerror(int err)
{
	switch (err) {
	case -EACCES:
	case -EPERM:
		return "permission denied: run as root, or lower kernel.perf_event_paranoid "
		       "(sysctl kernel.perf_event_paranoid=-1)";
	case -EMFILE:
		return "too many open files: raise the limit (ulimit -n) or watch fewer CPUs/threads";
	case -ESRCH:
		return "no such process";
	case -ENOENT:
	case -ENODEV:
		return "the kernel does not have this event";
	case -EOPNOTSUPP:
		return "the kernel does not support this event setting";
	case -EBUSY:
		return "the event is busy (used exclusively by another tool)";
	case -EINVAL:
		return "the kernel rejected the event attributes (invalid argument)";
	}
	return strerror(-err);
}
