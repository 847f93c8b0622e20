/* Printing interned stacks for reports: text, folded (flame graphs) and JSON. */
#ifndef LIB_REPORT_H
#define LIB_REPORT_H

#include <stdint.h>
#include <stdio.h>

struct stack_table;

/* One frame a line, cli.md format. */
void report_stack_text(FILE *f, const struct stack_table *t, uint32_t id);
/* "root;outermost;...;innermost" without a newline (flamegraph.pl / speedscope). */
void report_stack_folded(FILE *f, const struct stack_table *t, uint32_t id, const char *root);
/* ["innermost+0x10", ...] JSON array. */
void report_stack_json(FILE *f, const struct stack_table *t, uint32_t id);
/* A JSON string literal. */
void report_json_string(FILE *f, const char *s);
/* Percentage of part in whole truncated to one decimal; 0.0 when whole is 0. */
double report_pct(uint64_t part, uint64_t whole);

#endif
