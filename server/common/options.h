/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Command-line options from one table per daemon: the table gives each
 * option's name, where its value goes, its default, its bounds and its
 * help, and feeds both the parser and --help (tests/options.sh checks the
 * man page against --help). Defaults are text parsed like the argument, so
 * a default is checked against the same bounds; modules name their
 * defaults as plain numbers so that tables can stringify them (OPT_STR).
 */
#ifndef XBT_OPTIONS_H
#define XBT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define OPT_STR_(x) #x
#define OPT_STR(x) OPT_STR_(x)

enum opt_kind {
	OPT_FLAG,    /* no argument: *(bool *)dest = true */
	OPT_STRING,  /* *(const char **)dest = the argument (not copied) */
	OPT_UINT,    /* *(unsigned *)dest, within [min, max] */
	OPT_SIZE,    /* *(size_t *)dest, within [min, max] */
	OPT_CUSTOM   /* parse(arg, dest) says whether it is good */
};

struct opt {
	const char *name;        /* without the dashes */
	enum opt_kind kind;
	void *dest;
	const char *dflt;        /* default as an argument; NULL: none */
	const char *dflt_help;   /* what --help says of a default set later */
	const char *env;         /* environment variable taken before argv */
	unsigned long min, max;  /* numbers */
	bool (*parse)(const char *arg, void *dest);
	const char *metavar;     /* "N", "FILE" */
	const char *help;
};

/*
 * Applies the defaults, then the environment, then argv (none when argc
 * is 0). --help prints
 * the usage and --version the version, and both exit 0. Returns 0, or 2
 * after printing what is wrong to stderr.
 */
int opt_parse(const struct opt *table, size_t n, const char *prog,
	      const char *version, int argc, char **argv);
/* The usage text: one line per option, with its default. */
void opt_usage(FILE *f, const struct opt *table, size_t n, const char *prog);

/* OPT_CUSTOM parsers the daemons share; each says what dest points at. */
#define OPT_HOSTNAME_MAX 256
/* char[OPT_HOSTNAME_MAX]: a non-empty name that fits. */
bool opt_parse_hostname(const char *arg, void *dest);
/* const char *: an absolute path that fits a sockaddr_un. */
bool opt_parse_socket(const char *arg, void *dest);
/* int: error, warn, info or debug (log_level_parse). */
bool opt_parse_log_level(const char *arg, void *dest);
/* Fills an empty name (char[OPT_HOSTNAME_MAX]) with the machine's. */
void opt_default_hostname(char *name);

#endif
