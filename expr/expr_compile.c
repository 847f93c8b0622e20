/*
 * From the typed AST to a flat instruction array for a stack machine,
 * then recognise the shapes common in size=/key= (one field, field OP
 * constant) so expr_eval() can skip the interpreter for them.
 */
#include <stdlib.h>
#include <string.h>

#include "expr/expr_int.h"
#include "lib/ksyms.h"

struct codegen {
	struct insn *code;
	int n, cap;
	int depth, max_depth;
	bool oom;
};

static int emit(struct codegen *g, enum insn_op op, int stack_delta)
{
	if (g->n == g->cap) {
		int cap = g->cap ? g->cap * 2 : 16;
		struct insn *v = realloc(g->code, cap * sizeof(*v));

		if (!v) {
			g->oom = true;
			return 0;
		}
		g->code = v;
		g->cap = cap;
	}
	memset(&g->code[g->n], 0, sizeof(g->code[0]));
	g->code[g->n].op = op;
	g->depth += stack_delta;
	if (g->depth > g->max_depth)
		g->max_depth = g->depth;
	return g->n++;
}

/* The instruction just emitted (or a dummy after OOM, never run). */
static struct insn *at(struct codegen *g, int i)
{
	static struct insn dummy;

	return g->oom ? &dummy : &g->code[i];
}

static void gen(struct codegen *g, const struct node *n);

static void gen_call(struct codegen *g, const struct node *n)
{
	struct insn *in;

	for (int i = n->bi == BI_PRINTF ? 1 : 0; i < n->nargs; i++)
		gen(g, n->args[i]);
	switch (n->bi) {
	case BI_KSYMBOL:
		emit(g, I_KSYM, 0);
		break;
	case BI_NTOHL: case BI_HTONL:
		emit(g, I_BSWAP32, 0);
		break;
	case BI_NTOHS: case BI_HTONS:
		emit(g, I_BSWAP16, 0);
		break;
	case BI_STRNCMP:
		emit(g, I_STRNCMP, -2);
		break;
	case BI_PRINTF:
		in = at(g, emit(g, I_PRINTF, 1 - (n->nargs - 1)));
		in->a = n->nargs - 1;
		in->pf = n->pf;
		break;
	}
}

static void gen(struct codegen *g, const struct node *n)
{
	struct insn *in;
	int j1, j2;

	switch (n->kind) {
	case N_CONST:
		at(g, emit(g, I_CONST, 1))->imm = n->ival;
		break;
	case N_STR:
		in = at(g, emit(g, I_STRCONST, 1));
		in->str = n->str;
		in->a = n->slen;
		break;
	case N_LOAD:
		in = at(g, emit(g, I_LOAD, 1));
		in->a = n->off;
		in->size = n->type.size;
		in->flags = n->type.is_signed ? IF_SIGNED : 0;
		break;
	case N_STRFIELD:
		in = at(g, emit(g, n->dloc ? I_DLOCSTR : I_ARRSTR, 1));
		in->a = n->off;
		in->imm = n->fsize;
		in->flags = n->rel ? IF_REL : 0;
		break;
	case N_DLOC_PTR:
		in = at(g, emit(g, I_DLOCPTR, 1));
		in->a = n->off;
		in->flags = n->rel ? IF_REL : 0;
		break;
	case N_UNARY:
		gen(g, n->kid[0]);
		at(g, emit(g, I_UNARY, 0))->a = n->alu;
		break;
	case N_DEREF:
		gen(g, n->kid[0]);
		in = at(g, emit(g, I_DEREF, 0));
		in->size = n->type.size;
		in->flags = n->type.is_signed ? IF_SIGNED : 0;
		break;
	case N_BINARY:
		gen(g, n->kid[0]);
		gen(g, n->kid[1]);
		at(g, emit(g, I_BINARY, -1))->a = n->alu;
		break;
	case N_ANDAND:
	case N_OROR:
		gen(g, n->kid[0]);
		j1 = emit(g, n->kind == N_ANDAND ? I_ANDJZ : I_ORJNZ, -1);
		gen(g, n->kid[1]);
		emit(g, I_BOOL, 0);
		at(g, j1)->a = g->n;
		break;
	case N_COND:
		gen(g, n->kid[0]);
		j1 = emit(g, I_JZ, -1);
		gen(g, n->kid[1]);
		j2 = emit(g, I_JMP, -1); /* the else branch pushes its own value */
		at(g, j1)->a = g->n;
		gen(g, n->kid[2]);
		at(g, j2)->a = g->n;
		break;
	case N_COMMA:
		gen(g, n->kid[0]);
		emit(g, I_POP, -1);
		gen(g, n->kid[1]);
		break;
	case N_CAST:
		gen(g, n->kid[0]);
		if (n->fsize) {
			in = at(g, emit(g, I_CONV, 0));
			in->size = n->type.size;
			in->flags = (n->type.is_signed ? IF_SIGNED : 0) |
				    (n->type.is_bool ? IF_BOOL : 0);
		}
		break;
	case N_STREQ:
		gen(g, n->kid[0]);
		gen(g, n->kid[1]);
		at(g, emit(g, I_STREQ, -1))->a = n->alu;
		break;
	case N_PTR2STR:
		gen(g, n->kid[0]);
		emit(g, I_PTR2STR, 0);
		break;
	case N_CALL:
		gen_call(g, n);
		break;
	}
}

/* Pick a specialised evaluator when the program has a trivial shape. */
static void find_fast_path(struct expr *e)
{
	const struct insn *c = e->code;

	e->fast = FAST_NONE;
	if (e->result == EXPR_STR)
		return;
	if (e->ncode == 2 && c[0].op == I_CONST) {
		e->fast = FAST_CONST;
		e->fast_k = c[0].imm;
		return;
	}
	if (e->ncode == 2 && c[0].op == I_LOAD) {
		e->fast = FAST_LOAD;
	} else if (e->ncode != 4) {
		return;
	} else if (e->ncode == 4 && c[2].op == I_BINARY && c[0].op == I_LOAD &&
		   c[1].op == I_CONST) {
		e->fast = FAST_LOAD_OP_K;
		e->fast_k = c[1].imm;
	} else if (e->ncode == 4 && c[2].op == I_BINARY && c[0].op == I_CONST &&
		   c[1].op == I_LOAD) {
		e->fast = FAST_K_OP_LOAD;
		e->fast_k = c[0].imm;
		c++;
	} else {
		return;
	}
	e->fast_off = c[0].a;
	e->fast_size = c[0].size;
	e->fast_signed = c[0].flags & IF_SIGNED;
	if (e->fast != FAST_LOAD)
		e->fast_op = e->code[2].a;
}

static enum expr_type result_type(const struct node *n)
{
	switch (n->type.kind) {
	case TY_PTR: return EXPR_PTR;
	case TY_STR: return EXPR_STR;
	default: return EXPR_INT;
	}
}

struct expr *expr_compile(const char *text, struct tep_event *event, struct expr_error *err)
{
	struct expr_error dummy;
	struct codegen g = { 0 };
	struct expr *e;
	struct node *root;
	void *arena = NULL;

	if (!err)
		err = &dummy;
	e = calloc(1, sizeof(*e));
	if (!e) {
		expr_set_error(err, 0, "out of memory");
		return NULL;
	}
	e->out = stdout;
	root = expr_parse(text ? text : "", event, e, err, &arena);
	if (!root)
		goto fail;
	e->result = result_type(root);
	gen(&g, root);
	emit(&g, I_END, 0);
	e->code = g.code;
	e->ncode = g.n;
	if (g.oom) {
		expr_set_error(err, 0, "out of memory");
		goto fail;
	}
	if (g.max_depth > EXPR_STACK_MAX) {
		expr_set_error(err, 0, "expression too complex (needs %d stack slots, max %d)",
			       g.max_depth, EXPR_STACK_MAX);
		goto fail;
	}
	find_fast_path(e);
	/* Symbols are loaded once, here, never on the hot path. A failure leaves "[unknown]". */
	if (e->uses_ksym)
		ksyms_load();
	expr_arena_free(arena);
	return e;
fail:
	expr_arena_free(arena);
	expr_free(e);
	return NULL;
}

void expr_free(struct expr *e)
{
	if (!e)
		return;
	free(e->code);
	for (int i = 0; i < e->nstrs; i++)
		free(e->strs[i]);
	free(e->strs);
	for (int i = 0; i < e->npfs; i++)
		pf_free(e->pfs[i]);
	free(e->pfs);
	free(e);
}

enum expr_type expr_result_type(const struct expr *e)
{
	return e->result;
}

void expr_set_output(struct expr *e, FILE *f)
{
	e->out = f ? f : stdout;
}

uint64_t expr_faults(const struct expr *e)
{
	return e->faults;
}

const char *expr_first_fault(const struct expr *e)
{
	return e->first_fault;
}

bool expr_has_printf(const struct expr *e)
{
	return e->has_printf;
}
