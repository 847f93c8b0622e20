/* Shared by the parser (syntax) and the typed node constructors (semantics). */
#ifndef EXPR_EXPR_PARSE_H
#define EXPR_EXPR_PARSE_H

#include "expr/expr_int.h"

struct arena_blk;

struct parse_ctx {
	const char *text;
	struct tokens toks;
	int i;			/* current token */
	int depth;		/* recursion depth, bounded by EXPR_MAX_DEPTH */
	struct tep_event *event;
	struct expr *e;		/* receives literals and printf formats */
	struct expr_error *err;
	struct arena_blk *arena;
};

void *ctx_alloc(struct parse_ctx *c, size_t size);
/* Record a compile error (first one wins); always returns NULL. */
void *ctx_error(struct parse_ctx *c, int pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct ty ty_int(int size, bool is_signed);

struct node *mk_const(struct parse_ctx *c, int pos, int64_t v, struct ty t);
struct node *mk_string(struct parse_ctx *c, int pos, const char *s, int len);
struct node *mk_field(struct parse_ctx *c, int pos, const char *name);
struct node *mk_unary(struct parse_ctx *c, enum tok_op op, int pos, struct node *a);
struct node *mk_deref(struct parse_ctx *c, int pos, struct node *a);
struct node *mk_index(struct parse_ctx *c, int pos, struct node *a, struct node *i);
struct node *mk_binary(struct parse_ctx *c, enum tok_op op, int pos, struct node *a,
		       struct node *b);
struct node *mk_cond(struct parse_ctx *c, int pos, struct node *cond, struct node *a,
		     struct node *b);
struct node *mk_comma(struct parse_ctx *c, int pos, struct node *a, struct node *b);
struct node *mk_cast(struct parse_ctx *c, int pos, struct ty t, struct node *a);
struct node *mk_call(struct parse_ctx *c, int pos, const char *name, struct node **args,
		     int nargs);
/* sizeof(expr): size of its static type, or NULL with an error. */
struct node *mk_sizeof_expr(struct parse_ctx *c, int pos, struct node *a);

#endif
