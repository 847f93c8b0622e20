/*
 * Stack interning: every distinct callchain is stored once and named by a
 * small id; events and counters refer to the id. A salt (e.g. the event
 * index) is part of the identity, so one chain seen from two events gets
 * two ids. A chain with user frames also needs its process (pid): the
 * same user addresses in two processes may be different code, and the
 * report resolves them through that process's maps. Id 0 is never handed
 * out.
 */
#ifndef LIB_STACK_H
#define LIB_STACK_H

#include <stdint.h>

struct stack_table;

struct stack_table *stack_table_new(void);
void stack_table_free(struct stack_table *t);
/*
 * The id of (salt, ips[0..nr)), interned on first sight. PERF_CONTEXT_*
 * markers are kept as given. Returns 0 only when out of memory.
 */
uint32_t stack_intern(struct stack_table *t, uint32_t salt, const uint64_t *ips, uint32_t nr);
/* The same, with pid part of the identity (0 = no process, as stack_intern). */
uint32_t stack_intern_pid(struct stack_table *t, uint32_t salt, uint32_t pid, const uint64_t *ips, uint32_t nr);
/* The frames and salt of an id. */
const uint64_t *stack_ips(const struct stack_table *t, uint32_t id, uint32_t *nr);
uint32_t stack_salt(const struct stack_table *t, uint32_t id);
/* The pid given to stack_intern_pid(), 0 for stack_intern(). */
uint32_t stack_pid(const struct stack_table *t, uint32_t id);
/* Number of ids handed out; valid ids are 1..stack_count(). */
uint32_t stack_count(const struct stack_table *t);

#endif
