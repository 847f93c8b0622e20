/* Event selector grammar (cli.md): SYS:NAME[/FILTER/ATTR/...] {,EVENT}. */
#ifndef FILTER_SPEC_H
#define FILTER_SPEC_H

#include <stdbool.h>
#include <stddef.h>

struct event_spec {
	char *sys;
	char *name;
	char *filter;     /* NULL when empty */
	bool stack;
	char *key;        /* key=EXPR, NULL if not given */
	char *size;       /* size=EXPR */
	char *alias;      /* alias=IDENT */
	int max_stack;    /* 0 = kernel default */
	int group;        /* index of the -e argument */
	char *text;       /* the event's own text, for messages */
};

/*
 * Parse one -e argument into *specs (appended, *nr updated). On error
 * returns -1 with a one-line message in err naming the bad part.
 */
int spec_parse(const char *arg, int group, struct event_spec **specs, int *nr,
	       char *err, size_t errlen);
void spec_free(struct event_spec *specs, int nr);

#endif
