/* Tokenizer: the whole text is split once, up front, so the parser can look ahead. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "expr/expr_int.h"

void expr_set_error(struct expr_error *err, int pos, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->pos = pos;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static const struct {
	const char *text;
	enum tok_op op;
} puncts[] = {
	/* Two-character operators first so they win over their prefixes. */
	{ "<<", OP_SHL }, { ">>", OP_SHR }, { "<=", OP_LE }, { ">=", OP_GE },
	{ "==", OP_EQ }, { "!=", OP_NE }, { "&&", OP_ANDAND }, { "||", OP_OROR },
	{ "(", OP_LPAREN }, { ")", OP_RPAREN }, { "[", OP_LBRACK }, { "]", OP_RBRACK },
	{ ",", OP_COMMA }, { "?", OP_QUEST }, { ":", OP_COLON }, { "+", OP_PLUS },
	{ "-", OP_MINUS }, { "*", OP_STAR }, { "/", OP_SLASH }, { "%", OP_PERCENT },
	{ "<", OP_LT }, { ">", OP_GT }, { "&", OP_AMP }, { "^", OP_CARET },
	{ "|", OP_PIPE }, { "!", OP_NOT }, { "~", OP_TILDE }, { "=", OP_ASSIGN },
};

const char *expr_op_text(enum tok_op op)
{
	for (size_t i = 0; i < sizeof(puncts) / sizeof(puncts[0]); i++)
		if (puncts[i].op == op)
			return puncts[i].text;
	return "?";
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Decode one (possibly escaped) character of a char or string literal
 * starting at text[*i]; advances *i. Returns the byte or -1 on error.
 */
static int lex_char(const char *text, int *i, struct expr_error *err)
{
	int c = (unsigned char)text[*i];

	if (c != '\\') {
		(*i)++;
		return c;
	}
	c = (unsigned char)text[*i + 1];
	*i += 2;
	switch (c) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case 'a': return '\a';
	case 'b': return '\b';
	case 'f': return '\f';
	case 'v': return '\v';
	case 'e': return 27;
	case '\\': case '\'': case '"': case '?': return c;
	case 'x': {
		int v = 0, n = 0;

		while (n < 2 && hexval(text[*i]) >= 0) {
			v = v * 16 + hexval(text[*i]);
			(*i)++;
			n++;
		}
		if (!n) {
			expr_set_error(err, *i - 2, "bad \\x escape");
			return -1;
		}
		return v;
	}
	default:
		if (c >= '0' && c <= '7') {
			int v = c - '0', n = 1;

			while (n < 3 && text[*i] >= '0' && text[*i] <= '7') {
				v = v * 8 + (text[*i] - '0');
				(*i)++;
				n++;
			}
			return v & 0xff;
		}
		expr_set_error(err, *i - 2, "unknown escape '\\%c'", c ? c : ' ');
		return -1;
	}
}

static int lex_number(const char *text, int i, struct token *t, struct expr_error *err)
{
	char *end;
	bool u = false;
	int nl = 0;

	errno = 0;
	t->num = strtoull(text + i, &end, 0);
	if (errno == ERANGE) {
		expr_set_error(err, i, "number too large");
		return -1;
	}
	for (;; end++) {
		if ((*end == 'u' || *end == 'U') && !u)
			u = true;
		else if ((*end == 'l' || *end == 'L') && nl < 2)
			nl++;
		else
			break;
	}
	if (isalnum((unsigned char)*end) || *end == '_' || *end == '.') {
		expr_set_error(err, (int)(end - text), "bad number");
		return -1;
	}
	t->kind = TK_NUM;
	/* Only 64-bit unsigned matters: all arithmetic is 64 bits wide. */
	t->num_unsigned = t->num > INT64_MAX || (u && (nl || t->num > UINT32_MAX));
	return (int)(end - text);
}

static int lex_string(const char *text, int i, struct token *t, struct expr_error *err)
{
	int start = i, n = 0, cap = 16;
	char *buf = malloc(cap);

	if (!buf) {
		expr_set_error(err, i, "out of memory");
		return -1;
	}
	i++;
	while (text[i] != '"') {
		int c;

		if (!text[i]) {
			expr_set_error(err, start, "unterminated string");
			free(buf);
			return -1;
		}
		c = lex_char(text, &i, err);
		if (c < 0) {
			free(buf);
			return -1;
		}
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				expr_set_error(err, i, "out of memory");
				return -1;
			}
			buf = nb;
			cap *= 2;
		}
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	t->kind = TK_STR;
	t->str = buf;
	t->str_len = n;
	return i + 1;
}

static int lex_charlit(const char *text, int i, struct token *t, struct expr_error *err)
{
	int start = i, c;

	i++;
	if (text[i] == '\'' || !text[i]) {
		expr_set_error(err, start, "empty character literal");
		return -1;
	}
	c = lex_char(text, &i, err);
	if (c < 0)
		return -1;
	if (text[i] != '\'') {
		expr_set_error(err, start, "unterminated character literal");
		return -1;
	}
	t->kind = TK_NUM;
	/* The kernel builds with -funsigned-char (6.2+), so 'c' is 0..255 here too. */
	t->num = (unsigned char)c;
	return i + 1;
}

static int lex_one(const char *text, int i, struct token *t, struct expr_error *err)
{
	char c = text[i];

	if (isdigit((unsigned char)c))
		return lex_number(text, i, t, err);
	if (isalpha((unsigned char)c) || c == '_') {
		while (isalnum((unsigned char)text[i]) || text[i] == '_')
			i++;
		t->kind = TK_IDENT;
		return i;
	}
	if (c == '"')
		return lex_string(text, i, t, err);
	if (c == '\'')
		return lex_charlit(text, i, t, err);
	for (size_t k = 0; k < sizeof(puncts) / sizeof(puncts[0]); k++) {
		size_t n = strlen(puncts[k].text);

		if (!strncmp(text + i, puncts[k].text, n)) {
			t->kind = TK_PUNCT;
			t->op = puncts[k].op;
			return i + (int)n;
		}
	}
	if (isprint((unsigned char)c))
		expr_set_error(err, i, "unexpected character '%c'", c);
	else
		expr_set_error(err, i, "unexpected byte 0x%02x", (unsigned char)c);
	return -1;
}

int expr_lex(const char *text, struct tokens *out, struct expr_error *err)
{
	int i = 0, cap = 16;

	out->n = 0;
	out->v = malloc(cap * sizeof(*out->v));
	if (!out->v)
		goto oom;
	for (;;) {
		struct token *t;
		int next;

		while (isspace((unsigned char)text[i]))
			i++;
		if (out->n == cap) {
			struct token *nv = realloc(out->v, cap * 2 * sizeof(*nv));

			if (!nv)
				goto oom;
			out->v = nv;
			cap *= 2;
		}
		t = &out->v[out->n];
		memset(t, 0, sizeof(*t));
		t->pos = i;
		if (!text[i]) {
			t->kind = TK_END;
			out->n++;
			return 0;
		}
		next = lex_one(text, i, t, err);
		if (next < 0) {
			expr_tokens_free(out);
			return -1;
		}
		t->len = next - i;
		out->n++;
		i = next;
	}
oom:
	expr_tokens_free(out);
	expr_set_error(err, i, "out of memory");
	return -1;
}

void expr_tokens_free(struct tokens *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->v[i].str);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}
