/*
 * The expression language (shared/spec/expr.md): compiled once per
 * (expression, event format), evaluated per record with no allocation,
 * no name lookup and no string formatting.
 */
#ifndef EXPR_EXPR_H
#define EXPR_EXPR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct tep_event;
struct expr;

enum expr_type { EXPR_INT, EXPR_STR, EXPR_PTR };

/* Compile-time error: message and 0-based column in the text. */
struct expr_error {
	int pos;
	char msg[160];
};

/*
 * Compile `text` against the format of `event` (libtraceevent).
 * Returns NULL and fills err on error.
 */
struct expr *expr_compile(const char *text, struct tep_event *event, struct expr_error *err);
void expr_free(struct expr *e);

/* Result type of the whole expression. */
enum expr_type expr_result_type(const struct expr *e);

/*
 * Hot path: evaluate on one raw tracepoint record (PERF_SAMPLE_RAW
 * payload). Integer/pointer results; a string result yields its offset
 * inside the record (0 if none). Faults give 0 and are counted.
 */
int64_t expr_eval(struct expr *e, const void *raw, uint32_t size);

/*
 * Evaluate with a string result: *str points into the record or into
 * static storage (ksymbol) and *len is its length; returns 0, or -1 if
 * the result is not a string.
 */
int expr_eval_str(struct expr *e, const void *raw, uint32_t size, const char **str, int *len);

/* Where printf() writes; default stdout. */
void expr_set_output(struct expr *e, FILE *f);

/* Runtime faults (division by zero, out-of-record access). */
uint64_t expr_faults(const struct expr *e);
/* First fault's cause, e.g. "division by zero", or NULL if none. */
const char *expr_first_fault(const struct expr *e);

/* True if evaluation has side effects (printf): never constant-fold away. */
bool expr_has_printf(const struct expr *e);

/*
 * Print a compile error as in expr.md:
 *   perf-prof: expr: kmem:kmalloc: unexpected ')' at 14
 *       (bytes_alloc))
 *                    ^
 * `what` names the context ("kmem:kmalloc" or "kmem:kmalloc: size=").
 */
void expr_print_error(FILE *f, const char *what, const char *text, const struct expr_error *err);

#endif
