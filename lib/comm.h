/* Thread id -> command name, cached: /proc is read once per thread. */
#ifndef LIB_COMM_H
#define LIB_COMM_H

/* The comm of tid ("<...>" once the thread is gone and was never seen). */
const char *comm_get(int tid);
/* Record a name change seen in the stream (PERF_RECORD_COMM). */
void comm_set(int tid, const char *comm);
void comm_free(void);

#endif
