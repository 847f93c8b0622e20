/*
 * Recursive-descent parser with precedence climbing for the binary
 * operators. Each reduction goes through a typed constructor
 * (expr_types.c) so type errors point at the operator that caused them.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event-parse.h>

#include "expr/expr_parse.h"

struct arena_blk {
	struct arena_blk *next;
	max_align_t data[];
};

void *ctx_alloc(struct parse_ctx *c, size_t size)
{
	struct arena_blk *b = calloc(1, sizeof(*b) + size);

	if (!b)
		return ctx_error(c, c->toks.v ? c->toks.v[c->i].pos : 0, "out of memory");
	b->next = c->arena;
	c->arena = b;
	return b->data;
}

void expr_arena_free(void *arena)
{
	struct arena_blk *b = arena;

	while (b) {
		struct arena_blk *next = b->next;

		free(b);
		b = next;
	}
}

void *ctx_error(struct parse_ctx *c, int pos, const char *fmt, ...)
{
	va_list ap;

	if (c->err && !c->err->msg[0]) {
		c->err->pos = pos;
		va_start(ap, fmt);
		vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
		va_end(ap);
	}
	return NULL;
}

static const struct token *peek(struct parse_ctx *c)
{
	return &c->toks.v[c->i];
}

static const struct token *next(struct parse_ctx *c)
{
	const struct token *t = &c->toks.v[c->i];

	if (t->kind != TK_END)
		c->i++;
	return t;
}

static bool is_op(struct parse_ctx *c, enum tok_op op)
{
	const struct token *t = peek(c);

	return t->kind == TK_PUNCT && t->op == op;
}

static bool ident_is(const struct parse_ctx *c, const struct token *t, const char *s)
{
	return t->kind == TK_IDENT && (int)strlen(s) == t->len && !strncmp(c->text + t->pos, s, t->len);
}

/* "unexpected X" naming the token the way the user wrote it. */
static void *unexpected(struct parse_ctx *c, const struct token *t)
{
	switch (t->kind) {
	case TK_END:
		return ctx_error(c, t->pos, "unexpected end of expression");
	case TK_PUNCT:
		if (t->op == OP_ASSIGN)
			return ctx_error(c, t->pos, "'=' is not an operator here (use '==')");
		return ctx_error(c, t->pos, "unexpected '%s'", expr_op_text(t->op));
	default:
		return ctx_error(c, t->pos, "unexpected '%.*s'", t->len > 32 ? 32 : t->len,
				 c->text + t->pos);
	}
}

static bool expect(struct parse_ctx *c, enum tok_op op)
{
	const struct token *t = peek(c);

	if (t->kind == TK_PUNCT && t->op == op) {
		next(c);
		return true;
	}
	if (t->kind == TK_END)
		ctx_error(c, t->pos, "expected '%s' before end of expression", expr_op_text(op));
	else if (t->kind == TK_PUNCT)
		ctx_error(c, t->pos, "expected '%s' before '%s'", expr_op_text(op),
			  expr_op_text(t->op));
	else
		ctx_error(c, t->pos, "expected '%s' before '%.*s'", expr_op_text(op),
			  t->len > 32 ? 32 : t->len, c->text + t->pos);
	return false;
}

/* ---- type names (casts and sizeof) ---- */

static const struct {
	const char *name;
	int size;
	bool is_signed;
} typedefs[] = {
	{ "u8", 1, false }, { "u16", 2, false }, { "u32", 4, false }, { "u64", 8, false },
	{ "s8", 1, true }, { "s16", 2, true }, { "s32", 4, true }, { "s64", 8, true },
	{ "__u8", 1, false }, { "__u16", 2, false }, { "__u32", 4, false }, { "__u64", 8, false },
	{ "__s8", 1, true }, { "__s16", 2, true }, { "__s32", 4, true }, { "__s64", 8, true },
	{ "size_t", 8, false }, { "ssize_t", 8, true }, { "pid_t", 4, true },
};

static const char *const type_words[] = {
	"char", "short", "int", "long", "signed", "unsigned", "void", "bool", "_Bool",
	"const", "volatile",
};

static bool is_type_word(const struct parse_ctx *c, const struct token *t)
{
	for (size_t k = 0; k < sizeof(type_words) / sizeof(type_words[0]); k++)
		if (ident_is(c, t, type_words[k]))
			return true;
	for (size_t k = 0; k < sizeof(typedefs) / sizeof(typedefs[0]); k++)
		if (ident_is(c, t, typedefs[k].name))
			return true;
	return false;
}

/* Parse a type name up to (not including) ')'; false on error. */
static bool parse_type(struct parse_ctx *c, struct ty *out)
{
	int pos = peek(c)->pos, longs = 0, size = 0, sign = 0; /* sign: 0 unset, 1 signed, -1 unsigned */
	bool is_void = false, is_bool = false, base = false, is_char = false, seen_int = false;
	int nptr = 0;

	while (peek(c)->kind == TK_IDENT && is_type_word(c, peek(c))) {
		const struct token *t = next(c);
		bool took = false;

		if (ident_is(c, t, "const") || ident_is(c, t, "volatile"))
			continue;
		if (ident_is(c, t, "signed") || ident_is(c, t, "unsigned")) {
			if (sign || is_void || is_bool)
				return ctx_error(c, t->pos, "bad type"), false;
			sign = ident_is(c, t, "signed") ? 1 : -1;
			if (size == 0 && longs == 0)
				size = 4;
			continue;
		}
		if (ident_is(c, t, "long")) {
			if (++longs > 2 || is_char || is_void || is_bool || size == 2)
				return ctx_error(c, t->pos, "bad type"), false;
			size = 8;
			continue;
		}
		/* "int" may follow short/long/signed/unsigned: "short int" */
		if (ident_is(c, t, "int") && (!base || (size == 2 && !is_char)) && !is_void &&
		    !is_bool && !seen_int) {
			seen_int = true;
			if (!longs && size != 2)
				size = 4;
			base = true;
			continue;
		}
		if (base)
			return ctx_error(c, t->pos, "bad type"), false;
		base = true;
		if (ident_is(c, t, "char")) {
			took = !longs;
			is_char = true;
			size = 1;
		} else if (ident_is(c, t, "short")) {
			took = !longs;
			size = 2;
		} else if (ident_is(c, t, "void")) {
			took = !longs && !sign;
			is_void = true;
		} else if (ident_is(c, t, "bool") || ident_is(c, t, "_Bool")) {
			took = !longs && !sign;
			is_bool = true;
			size = 1;
		} else {
			for (size_t k = 0; k < sizeof(typedefs) / sizeof(typedefs[0]); k++) {
				if (ident_is(c, t, typedefs[k].name)) {
					took = !longs && !sign;
					size = typedefs[k].size;
					sign = typedefs[k].is_signed ? 1 : -1;
				}
			}
		}
		if (!took)
			return ctx_error(c, t->pos, "bad type"), false;
	}
	if (!size && !is_void)
		return ctx_error(c, pos, "expected a type"), false;
	while (is_op(c, OP_STAR)) {
		const struct token *t = next(c);

		if (++nptr > 1)
			return ctx_error(c, t->pos, "pointers to pointers are not supported"), false;
	}
	if (is_void && !nptr)
		return ctx_error(c, pos, "cannot convert to void"), false;
	/* Plain char is unsigned: the kernel builds with -funsigned-char. */
	if (!sign)
		sign = is_char || is_bool ? -1 : 1;
	memset(out, 0, sizeof(*out));
	out->kind = nptr ? TY_PTR : TY_INT;
	out->size = is_void ? 0 : size;
	out->is_signed = sign > 0;
	out->is_bool = is_bool && !nptr;
	return true;
}

/* ---- expressions ---- */

static struct node *parse_comma(struct parse_ctx *c);
static struct node *parse_cond(struct parse_ctx *c);
static struct node *parse_unary(struct parse_ctx *c);

static int binary_prec(enum tok_op op)
{
	switch (op) {
	case OP_OROR: return 1;
	case OP_ANDAND: return 2;
	case OP_PIPE: return 3;
	case OP_CARET: return 4;
	case OP_AMP: return 5;
	case OP_EQ: case OP_NE: return 6;
	case OP_LT: case OP_LE: case OP_GT: case OP_GE: return 7;
	case OP_SHL: case OP_SHR: return 8;
	case OP_PLUS: case OP_MINUS: return 9;
	case OP_STAR: case OP_SLASH: case OP_PERCENT: return 10;
	default: return 0;
	}
}

/* All binary operators are left associative: climb with prec + 1 on the right. */
static struct node *parse_binary(struct parse_ctx *c, int min_prec)
{
	struct node *lhs = parse_unary(c);

	while (lhs) {
		const struct token *t = peek(c);
		int prec = t->kind == TK_PUNCT ? binary_prec(t->op) : 0;
		struct node *rhs;

		if (t->kind == TK_PUNCT && t->op == OP_ASSIGN)
			return unexpected(c, t);
		if (!prec || prec < min_prec)
			break;
		next(c);
		rhs = parse_binary(c, prec + 1);
		if (!rhs)
			return NULL;
		lhs = mk_binary(c, t->op, t->pos, lhs, rhs);
	}
	return lhs;
}

static struct node *parse_cond(struct parse_ctx *c)
{
	struct node *cond, *a, *b;
	const struct token *q;

	if (++c->depth > EXPR_MAX_DEPTH)
		return ctx_error(c, peek(c)->pos, "expression nested too deeply");
	cond = parse_binary(c, 1);
	if (!cond || !is_op(c, OP_QUEST)) {
		c->depth--;
		return cond;
	}
	q = next(c);
	a = parse_comma(c);
	if (!a || !expect(c, OP_COLON))
		return NULL;
	b = parse_cond(c);
	if (!b)
		return NULL;
	c->depth--;
	return mk_cond(c, q->pos, cond, a, b);
}

static struct node *parse_comma(struct parse_ctx *c)
{
	struct node *lhs = parse_cond(c);

	while (lhs && is_op(c, OP_COMMA)) {
		const struct token *t = next(c);
		struct node *rhs = parse_cond(c);

		if (!rhs)
			return NULL;
		lhs = mk_comma(c, t->pos, lhs, rhs);
	}
	return lhs;
}

static struct node *parse_call(struct parse_ctx *c, const struct token *name)
{
	struct node *args[EXPR_MAX_ARGS];
	char fname[32];
	int n = 0;

	next(c); /* ( */
	if (!is_op(c, OP_RPAREN)) {
		for (;;) {
			if (n == EXPR_MAX_ARGS)
				return ctx_error(c, peek(c)->pos, "too many arguments (max %d)",
						 EXPR_MAX_ARGS);
			args[n] = parse_cond(c);
			if (!args[n])
				return NULL;
			n++;
			if (!is_op(c, OP_COMMA))
				break;
			next(c);
		}
	}
	if (!expect(c, OP_RPAREN))
		return NULL;
	snprintf(fname, sizeof(fname), "%.*s", name->len, c->text + name->pos);
	return mk_call(c, name->pos, fname, args, n);
}

static struct node *parse_sizeof(struct parse_ctx *c, const struct token *kw)
{
	struct node *n;
	struct ty t;

	if (!expect(c, OP_LPAREN))
		return NULL;
	if (peek(c)->kind == TK_IDENT && is_type_word(c, peek(c))) {
		if (!parse_type(c, &t) || !expect(c, OP_RPAREN))
			return NULL;
		return mk_const(c, kw->pos, t.kind == TY_PTR ? 8 : t.size, ty_int(8, false));
	}
	n = parse_comma(c);
	if (!n || !expect(c, OP_RPAREN))
		return NULL;
	return mk_sizeof_expr(c, kw->pos, n);
}

static struct node *parse_primary(struct parse_ctx *c)
{
	const struct token *t = peek(c);
	struct node *n;

	switch (t->kind) {
	case TK_NUM:
		next(c);
		return mk_const(c, t->pos, (int64_t)t->num,
				t->num_unsigned ? ty_int(8, false) : ty_int(8, true));
	case TK_STR:
		next(c);
		return mk_string(c, t->pos, t->str, t->str_len);
	case TK_IDENT: {
		char name[128];

		next(c);
		if (ident_is(c, t, "sizeof"))
			return parse_sizeof(c, t);
		if (is_op(c, OP_LPAREN))
			return parse_call(c, t);
		if (t->len >= (int)sizeof(name))
			return ctx_error(c, t->pos, "name too long");
		snprintf(name, sizeof(name), "%.*s", t->len, c->text + t->pos);
		return mk_field(c, t->pos, name);
	}
	case TK_PUNCT:
		if (t->op == OP_LPAREN) {
			next(c);
			n = parse_comma(c);
			if (!n || !expect(c, OP_RPAREN))
				return NULL;
			return n;
		}
		/* fall through */
	default:
		return unexpected(c, t);
	}
}

static struct node *parse_postfix(struct parse_ctx *c)
{
	struct node *n = parse_primary(c);

	while (n && is_op(c, OP_LBRACK)) {
		const struct token *t = next(c);
		struct node *idx = parse_comma(c);

		if (!idx || !expect(c, OP_RBRACK))
			return NULL;
		n = mk_index(c, t->pos, n, idx);
	}
	return n;
}

static bool starts_operand(const struct token *t)
{
	return t->kind == TK_IDENT || t->kind == TK_NUM || t->kind == TK_STR ||
	       (t->kind == TK_PUNCT && t->op == OP_LPAREN);
}

/*
 * "(name *)" or "(name) operand" where name is neither a type we know
 * nor a field: the user meant a cast, so say the type is unknown.
 */
static bool looks_like_unknown_cast(struct parse_ctx *c)
{
	const struct token *t = &c->toks.v[c->i + 1];
	const struct token *n1, *n2;
	char name[128];

	if (t->kind != TK_IDENT || t->len >= (int)sizeof(name))
		return false;
	snprintf(name, sizeof(name), "%.*s", t->len, c->text + t->pos);
	if (c->event && tep_find_any_field(c->event, name))
		return false;
	n1 = t + 1;
	if (n1->kind != TK_PUNCT)
		return false;
	n2 = n1->kind == TK_END ? n1 : n1 + 1;
	if (n1->op == OP_STAR) {
		while (n2->kind == TK_PUNCT && n2->op == OP_STAR)
			n2++;
		return n2->kind == TK_PUNCT && n2->op == OP_RPAREN;
	}
	return n1->op == OP_RPAREN && starts_operand(n2);
}

static struct node *parse_unary_inner(struct parse_ctx *c)
{
	const struct token *t = peek(c);
	struct node *a;
	struct ty ty;

	if (t->kind == TK_PUNCT) {
		switch (t->op) {
		case OP_MINUS: case OP_PLUS: case OP_NOT: case OP_TILDE:
			next(c);
			a = parse_unary(c);
			return a ? mk_unary(c, t->op, t->pos, a) : NULL;
		case OP_STAR:
			next(c);
			a = parse_unary(c);
			return a ? mk_deref(c, t->pos, a) : NULL;
		case OP_LPAREN:
			if (c->toks.v[c->i + 1].kind == TK_IDENT &&
			    is_type_word(c, &c->toks.v[c->i + 1])) {
				next(c);
				if (!parse_type(c, &ty) || !expect(c, OP_RPAREN))
					return NULL;
				a = parse_unary(c);
				return a ? mk_cast(c, t->pos, ty, a) : NULL;
			}
			if (looks_like_unknown_cast(c)) {
				const struct token *name = &c->toks.v[c->i + 1];

				return ctx_error(c, name->pos, "unknown type '%.*s'", name->len,
						 c->text + name->pos);
			}
			break;
		default:
			break;
		}
	}
	return parse_postfix(c);
}

static struct node *parse_unary(struct parse_ctx *c)
{
	struct node *n;

	if (++c->depth > EXPR_MAX_DEPTH)
		return ctx_error(c, peek(c)->pos, "expression nested too deeply");
	n = parse_unary_inner(c);
	c->depth--;
	return n;
}

struct node *expr_parse(const char *text, struct tep_event *event, struct expr *e,
			struct expr_error *err, void **arena)
{
	struct parse_ctx c = { .text = text, .event = event, .e = e, .err = err };
	struct node *n = NULL;

	err->pos = 0;
	err->msg[0] = '\0';
	if (expr_lex(text, &c.toks, err))
		return NULL;
	if (peek(&c)->kind == TK_END) {
		ctx_error(&c, peek(&c)->pos, "empty expression");
		goto out;
	}
	n = parse_comma(&c);
	if (n && peek(&c)->kind != TK_END)
		n = unexpected(&c, peek(&c));
out:
	/* A constructor that returned NULL always set a message. */
	if (!n && !err->msg[0])
		ctx_error(&c, peek(&c)->pos, "invalid expression");
	expr_tokens_free(&c.toks);
	*arena = c.arena;
	return n;
}
