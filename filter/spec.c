/*
 * Event selector parser (cli.md):
 *
 *   SPEC  := EVENT {',' EVENT}
 *   EVENT := SYS ':' NAME [ '/' [FILTER] '/' { ATTR '/' } ]
 *   ATTR  := 'stack' | 'key=' EXPR | 'size=' EXPR | 'alias=' IDENT
 *          | 'max-stack=' INT
 *
 * A ',' ends an event only at the top level: never inside the filter,
 * inside quotes, or inside parentheses of an attribute expression, so
 * `printf("%d,%d",a,b)` or `key=hash(a,b)` stay whole. Likewise a '/'
 * inside quotes or parentheses belongs to the text; elsewhere inside a
 * section it must be written `\/`.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter/spec.h"

/* Highest stack depth the perf ABI can carry (sample_max_stack is u16). */
#define SPEC_MAX_STACK 65535

/* Scanner state shared by the filter and attribute sections. */
struct scan {
	char quote;   /* '"' or '\'' while inside a literal, else 0 */
	int depth;    /* '(' nesting */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Feed one character (already known not to be an escape) to the scanner;
 * returns 1 when it is a structural character at the top level, i.e. a
 * section end ('/') or, when commas_end is set, an event end (',').
 */
static int scan_is_stop(struct scan *sc, char c, int commas_end)
{
	if (sc->quote) {
		if (c == sc->quote)
			sc->quote = 0;
		return 0;
	}
	switch (c) {
	case '"':
	case '\'':
		sc->quote = c;
		return 0;
	case '(':
		sc->depth++;
		return 0;
	case ')':
		if (sc->depth > 0)
			sc->depth--;
		return 0;
	case '/':
		return sc->depth == 0;
	case ',':
		return commas_end && sc->depth == 0;
	default:
		return 0;
	}
}

/*
 * Copy the section starting at *pp up to its unescaped top-level '/' (or
 * ',' / end of string when commas_end), turning "\/" into "/". *pp is
 * left on the stop character. Returns NULL only on allocation failure.
 */
static char *scan_section(const char **pp, int commas_end, struct scan *st)
{
	const char *p = *pp;
	struct scan sc = { 0, 0 };
	char *out = malloc(strlen(p) + 1);
	char *o = out;

	if (!out)
		return NULL;
	for (; *p; p++) {
		if (*p == '\\' && p[1]) {
			/* "\/" is the one escape we own; others pass through. */
			if (p[1] != '/')
				*o++ = *p;
			*o++ = p[1];
			p++;
			continue;
		}
		if (scan_is_stop(&sc, *p, commas_end))
			break;
		*o++ = *p;
	}
	*o = '\0';
	*pp = p;
	if (st)
		*st = sc;
	return out;
}

/* Trim surrounding white space in place; returns s. */
static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		memmove(s, s + 1, strlen(s));
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' ||
	       c == '*' || c == '?';
}

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!is_name_char(*s))
			return 0;
	return 1;
}

static int valid_ident(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

static void spec_clear(struct event_spec *s)
{
	free(s->sys);
	free(s->name);
	free(s->filter);
	free(s->key);
	free(s->size);
	free(s->alias);
	free(s->text);
	memset(s, 0, sizeof(*s));
}

/* "SYS:NAME" (already trimmed) into s->sys / s->name. */
static int parse_head(struct event_spec *s, char *head, char *err, size_t errlen)
{
	char *colon = strchr(head, ':');

	if (!colon || colon == head || !colon[1])
		goto bad;
	*colon = '\0';
	if (!valid_name(head) || !valid_name(colon + 1)) {
		*colon = ':';
		goto bad;
	}
	s->sys = strdup(head);
	s->name = strdup(colon + 1);
	*colon = ':';
	if (!s->sys || !s->name) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
bad:
	set_err(err, errlen, "bad event '%s' (expected SYS:NAME)", head);
	return -1;
}

/* Store a "name=VALUE" attribute value into *slot, rejecting repeats. */
static int set_value(char **slot, const char *name, const char *val,
		     const char *text, char *err, size_t errlen)
{
	if (*slot) {
		set_err(err, errlen, "duplicate %s= in '%s'", name, text);
		return -1;
	}
	if (!*val) {
		set_err(err, errlen, "empty %s= in '%s'", name, text);
		return -1;
	}
	*slot = strdup(val);
	if (!*slot) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int parse_max_stack(struct event_spec *s, const char *val,
			   const char *text, char *err, size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(val, &end, 10);
	if (!*val || !isdigit((unsigned char)*val) || *end || errno ||
	    v > SPEC_MAX_STACK) {
		set_err(err, errlen, "bad max-stack '%s' in '%s'", val, text);
		return -1;
	}
	s->max_stack = (int)v;
	return 0;
}

static int parse_attr(struct event_spec *s, char *attr, const char *text,
		      char *err, size_t errlen)
{
	char *a = trim(attr);

	if (!*a) {
		set_err(err, errlen, "empty attribute in '%s'", text);
		return -1;
	}
	if (!strcmp(a, "stack")) {
		s->stack = true;
		return 0;
	}
	if (!strncmp(a, "key=", 4))
		return set_value(&s->key, "key", trim(a + 4), text, err, errlen);
	if (!strncmp(a, "size=", 5))
		return set_value(&s->size, "size", trim(a + 5), text, err, errlen);
	if (!strncmp(a, "alias=", 6)) {
		char *v = trim(a + 6);

		if (*v && !valid_ident(v)) {
			set_err(err, errlen, "bad alias '%s' in '%s'", v, text);
			return -1;
		}
		return set_value(&s->alias, "alias", v, text, err, errlen);
	}
	if (!strncmp(a, "max-stack=", 10))
		return parse_max_stack(s, trim(a + 10), text, err, errlen);
	set_err(err, errlen, "unknown attribute '%s' in '%s'", a, text);
	return -1;
}

/*
 * Find where the event starting at p ends (top-level ',' or end of
 * string), with the same scanning rules the real parse uses, so the
 * event's own text is known before any message needs it.
 */
static const char *event_end(const char *p)
{
	const char *q = p;
	char *tmp;

	/* Head: up to the first '/' or ','. */
	while (*q && *q != '/' && *q != ',')
		q++;
	if (*q != '/')
		return q;
	q++;
	/* Filter: commas never end it. */
	tmp = scan_section(&q, 0, NULL);
	free(tmp);
	if (!*q)
		return q;
	q++;
	/* Attributes: each ends at '/', the event at ','. */
	while (*q && *q != ',') {
		tmp = scan_section(&q, 1, NULL);
		free(tmp);
		if (*q == '/')
			q++;
	}
	return q;
}

/* Parse one event's own text into s. */
static int parse_event(struct event_spec *s, const char *text,
		       char *err, size_t errlen)
{
	const char *p = text;
	char *sec;
	int ret = -1;
	size_t n;

	n = strcspn(p, "/");
	sec = strndup(p, n);
	if (!sec)
		goto oom;
	if (parse_head(s, trim(sec), err, errlen))
		goto out;
	free(sec);
	sec = NULL;
	p += n;
	if (!*p)
		return 0;

	p++; /* opening '/' of the filter */
	sec = scan_section(&p, 0, NULL);
	if (!sec)
		goto oom;
	if (*p != '/') {
		set_err(err, errlen, "unterminated filter in '%s'", text);
		goto out;
	}
	p++;
	if (*trim(sec)) {
		s->filter = sec;
		sec = NULL;
	}
	free(sec);
	sec = NULL;

	while (*p) {
		struct scan st;

		sec = scan_section(&p, 1, &st);
		if (!sec)
			goto oom;
		/* Report the real culprit, not a garbled expression. */
		if (st.quote) {
			set_err(err, errlen, "unterminated string in '%s'", text);
			goto out;
		}
		if (st.depth) {
			set_err(err, errlen, "unbalanced '(' in '%s'", text);
			goto out;
		}
		if (parse_attr(s, sec, text, err, errlen))
			goto out;
		free(sec);
		sec = NULL;
		if (*p == '/')
			p++;
	}
	return 0;
oom:
	set_err(err, errlen, "out of memory");
out:
	free(sec);
	return ret;
}

static int append_event(const char *start, const char *end, int group,
			struct event_spec **specs, int *nr,
			char *err, size_t errlen)
{
	struct event_spec *arr, *s;
	char *text;

	text = strndup(start, (size_t)(end - start));
	if (!text) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	arr = realloc(*specs, (size_t)(*nr + 1) * sizeof(*arr));
	if (!arr) {
		free(text);
		set_err(err, errlen, "out of memory");
		return -1;
	}
	*specs = arr;
	s = &arr[*nr];
	memset(s, 0, sizeof(*s));
	s->text = text;
	s->group = group;
	if (parse_event(s, text, err, errlen)) {
		spec_clear(s);
		return -1;
	}
	(*nr)++;
	return 0;
}

static int is_blank(const char *start, const char *end)
{
	for (; start < end; start++)
		if (!isspace((unsigned char)*start))
			return 0;
	return 1;
}

int spec_parse(const char *arg, int group, struct event_spec **specs, int *nr,
	       char *err, size_t errlen)
{
	int first = *nr;
	const char *p = arg;

	if (!arg) {
		set_err(err, errlen, "empty event in ''");
		return -1;
	}
	for (;;) {
		const char *end = event_end(p);

		if (is_blank(p, end)) {
			set_err(err, errlen, "empty event in '%s'", arg);
			goto fail;
		}
		if (append_event(p, end, group, specs, nr, err, errlen))
			goto fail;
		if (!*end)
			return 0;
		p = end + 1;
	}
fail:
	/* Leave the caller's array as it was before this argument. */
	while (*nr > first)
		spec_clear(&(*specs)[--(*nr)]);
	return -1;
}

void spec_free(struct event_spec *specs, int nr)
{
	int i;

	if (!specs)
		return;
	for (i = 0; i < nr; i++)
		spec_clear(&specs[i]);
	free(specs);
}
