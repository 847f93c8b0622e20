/*
 * printf() builtin: the format is split into literal runs and
 * conversions once, at compile time; at run time each conversion is a
 * single stdio call with a prepared host format.
 */
#include <stdlib.h>
#include <string.h>

#include "expr/expr_int.h"

#define PF_MAX_WIDTH 9999

void pf_free(struct printf_desc *pf)
{
	if (!pf)
		return;
	free(pf->fmt);
	free(pf->segs);
	free(pf->arg_conv);
	free(pf);
}

static struct pf_seg *add_seg(struct printf_desc *pf)
{
	struct pf_seg *v = realloc(pf->segs, (pf->nsegs + 1) * sizeof(*v));

	if (!v)
		return NULL;
	pf->segs = v;
	memset(&v[pf->nsegs], 0, sizeof(v[0]));
	return &v[pf->nsegs++];
}

static int read_num(const char *s, int *i)
{
	int v = 0;

	while (s[*i] >= '0' && s[*i] <= '9') {
		if (v <= PF_MAX_WIDTH)
			v = v * 10 + (s[*i] - '0');
		(*i)++;
	}
	return v;
}

/* Parse one conversion after '%' at fmt[*i]; fills seg. Returns 0 or -1. */
static int parse_conv(const char *fmt, int len, int *i, struct pf_seg *seg, int pos,
		      struct expr_error *err)
{
	char flags[8] = "";
	int nflags = 0, width = -1, prec = -1, size = 4, start = *i - 1;
	char conv;

	while (*i < len && strchr("-+ #0", fmt[*i]) && fmt[*i]) {
		if (!strchr(flags, fmt[*i]))
			flags[nflags++] = fmt[*i];
		(*i)++;
	}
	if (*i < len && fmt[*i] >= '0' && fmt[*i] <= '9')
		width = read_num(fmt, i);
	if (*i < len && fmt[*i] == '.') {
		(*i)++;
		prec = read_num(fmt, i);
	}
	if (width > PF_MAX_WIDTH || prec > PF_MAX_WIDTH) {
		expr_set_error(err, pos + 1 + start, "printf: width or precision too large");
		return -1;
	}
	if (*i < len && fmt[*i] == 'h') {
		(*i)++;
		size = 2;
		if (*i < len && fmt[*i] == 'h') {
			(*i)++;
			size = 1;
		}
	} else if (*i < len && fmt[*i] == 'l') {
		(*i)++;
		size = 8;
		if (*i < len && fmt[*i] == 'l')
			(*i)++;
	} else if (*i < len && strchr("zjt", fmt[*i]) && fmt[*i]) {
		(*i)++;
		size = 8;
	}
	if (*i >= len) {
		expr_set_error(err, pos + 1 + start, "printf: incomplete conversion at the end");
		return -1;
	}
	conv = fmt[(*i)++];
	seg->is_conv = true;
	seg->size = size;
	seg->width = width;
	seg->prec = prec;
	seg->left = strchr(flags, '-') != NULL;
	switch (conv) {
	case 'd': case 'i':
		seg->conv = PF_INT;
		break;
	case 'u': case 'x': case 'X': case 'o':
		seg->conv = PF_UINT;
		break;
	case 'c':
		seg->conv = PF_CHAR;
		break;
	case 's':
		seg->conv = PF_STR;
		break;
	case 'p':
		seg->conv = PF_PTR;
		break;
	default:
		if (conv >= 0x20 && conv < 0x7f)
			expr_set_error(err, pos + 1 + start, "printf: unsupported conversion '%%%c'",
				       conv);
		else
			expr_set_error(err, pos + 1 + start, "printf: bad conversion");
		return -1;
	}
	/* The host format: integers always go through long long. */
	if (seg->conv == PF_STR)
		snprintf(seg->spec, sizeof(seg->spec), "%%%s%.0d.*s", flags, width < 0 ? 0 : width);
	else if (seg->conv == PF_CHAR)
		snprintf(seg->spec, sizeof(seg->spec), "%%%s%.0dc", flags, width < 0 ? 0 : width);
	else if (prec >= 0)
		snprintf(seg->spec, sizeof(seg->spec), "%%%s%.0d.%dll%c", flags,
			 width < 0 ? 0 : width, prec, conv);
	else
		snprintf(seg->spec, sizeof(seg->spec), "%%%s%.0dll%c", flags,
			 width < 0 ? 0 : width, conv);
	return 0;
}

struct printf_desc *pf_compile(const char *fmt, int len, int pos, struct expr_error *err)
{
	struct printf_desc *pf = calloc(1, sizeof(*pf));
	struct pf_seg *seg;
	int i = 0, lit = 0;

	if (!pf || !(pf->fmt = malloc(len + 1)))
		goto oom;
	memcpy(pf->fmt, fmt, len);
	pf->fmt[len] = '\0';
	fmt = pf->fmt;
	while (i <= len) {
		/* Flush the literal run before a conversion or at the end. */
		if (i == len || fmt[i] == '%') {
			if (i > lit) {
				if (!(seg = add_seg(pf)))
					goto oom;
				seg->lit = fmt + lit;
				seg->lit_len = i - lit;
			}
			if (i == len)
				break;
			if (i + 1 < len && fmt[i + 1] == '%') {
				lit = i + 1; /* the second '%' starts the next literal */
				i += 2;
				continue;
			}
			i++;
			if (!(seg = add_seg(pf)))
				goto oom;
			if (parse_conv(fmt, len, &i, seg, pos, err))
				goto fail;
			enum pf_conv *v = realloc(pf->arg_conv, (pf->nconv + 1) * sizeof(*v));

			if (!v)
				goto oom;
			pf->arg_conv = v;
			pf->arg_conv[pf->nconv++] = seg->conv;
			lit = i;
			continue;
		}
		i++;
	}
	return pf;
oom:
	expr_set_error(err, pos, "out of memory");
fail:
	pf_free(pf);
	return NULL;
}

int pf_run(FILE *out, const struct printf_desc *pf, const union slot *args)
{
	int total = 0, n = 0;

	for (int k = 0; k < pf->nsegs; k++) {
		const struct pf_seg *s = &pf->segs[k];
		int r;

		if (!s->is_conv) {
			r = (int)fwrite(s->lit, 1, s->lit_len, out);
			total += r;
			continue;
		}
		switch (s->conv) {
		case PF_INT:
			r = fprintf(out, s->spec, (long long)conv_int(args[n].i, s->size, true, false));
			break;
		case PF_UINT:
			r = fprintf(out, s->spec,
				    (unsigned long long)conv_int(args[n].i, s->size, false, false));
			break;
		case PF_CHAR:
			r = fprintf(out, s->spec, (int)(unsigned char)args[n].i);
			break;
		case PF_STR: {
			int p = args[n].s.n;

			if (s->prec >= 0 && s->prec < p)
				p = s->prec;
			r = fprintf(out, s->spec, p, args[n].s.p);
			break;
		}
		case PF_PTR:
			r = args[n].i ? fprintf(out, "0x%llx", (unsigned long long)args[n].i)
				      : fprintf(out, "(nil)");
			break;
		default:
			r = 0;
		}
		n++;
		if (r > 0)
			total += r;
	}
	return total;
}
