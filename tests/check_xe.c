/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xe's parsing and layout, without a server: XE_EXTRA_ARGS splitting, ~/.xe,
 * options and parameters, password files, record layout, value formats and
 * the error report with --trace.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../cli/xe.h"

/* ---- helpers -------------------------------------------------------------- */

static char tmpdir[64];

static void tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/check_xe.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* Parses a NULL-terminated argument list (argv[0] = "xe" is added). */
static xbt_error *parse(struct xe_opts *o, const char *extra, bool home,
			const char *const *args)
{
	char *argv[32] = { (char *)"xe" };
	int argc = 1;

	while (args && args[argc - 1])
		argv[argc] = (char *)args[argc - 1], argc++;
	return xe_args_parse(argc, argv, extra, home ? tmpdir : NULL, o);
}

static void split_is(const char *in, size_t n, const char *const *want)
{
	char **v;
	size_t got;

	xe_split_extra(in, &v, &got);
	ck_assert_uint_eq(got, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(v[i], want[i]);
	xe_strv_free(v, got);
}

static void usage_is(xbt_error *e, const char *msg)
{
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->code, XE_ERR_USAGE);
	ck_assert_uint_eq(e->nparams, 1);
	ck_assert_str_eq(e->params[0], msg);
	xbt_error_free(e);
}

/* ---- XE_EXTRA_ARGS ---------------------------------------------------------- */

START_TEST(split_plain)
{
	split_is("--trace,-pw,secret", 3,
		 (const char *[]){ "--trace", "-pw", "secret" });
}
END_TEST

START_TEST(split_escaped_comma)
{
	split_is("params=uuid\\,power-state,x=1", 2,
		 (const char *[]){ "params=uuid,power-state", "x=1" });
}
END_TEST

START_TEST(split_escaped_backslash)
{
	/* "\\," is a backslash, then a separator. */
	split_is("a\\\\,b", 2, (const char *[]){ "a\\", "b" });
	/* Any other backslash stays, a trailing one too. */
	split_is("a\\b,c\\", 2, (const char *[]){ "a\\b", "c\\" });
}
END_TEST

START_TEST(split_empty_pieces)
{
	split_is(",,a,,b,", 2, (const char *[]){ "a", "b" });
	split_is("", 0, NULL);
	split_is(NULL, 0, NULL);
	split_is("\\,", 1, (const char *[]){ "," });
}
END_TEST

/* ---- ~/.xe ---------------------------------------------------------------------- */

START_TEST(rc_lines)
{
	struct xe_param *p;
	size_t n;

	ck_assert(xe_rc_parse("server=h\n\nport=9\r\nx==y\nlast=1", &p, &n));
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(p[0].key, "server");
	ck_assert_str_eq(p[0].val, "h");
	ck_assert_str_eq(p[1].key, "port");
	ck_assert_str_eq(p[1].val, "9");
	ck_assert_str_eq(p[2].key, "x");
	ck_assert_str_eq(p[2].val, "=y");
	ck_assert_str_eq(p[3].key, "last");
	ck_assert_str_eq(p[3].val, "1");
	xe_params_free(p, n);
}
END_TEST

START_TEST(rc_broken_line_drops_all)
{
	struct xe_param *p;
	size_t n;

	ck_assert(!xe_rc_parse("server=h\nnonsense\nport=1\n", &p, &n));
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(n, 0);
}
END_TEST

/* ---- the command line ------------------------------------------------------ */

START_TEST(args_defaults)
{
	struct xe_opts o;

	ck_assert_ptr_null(parse(&o, NULL, true, NULL));
	ck_assert_str_eq(o.server, "127.0.0.1");
	ck_assert_uint_eq(o.port, 8080);
	ck_assert_str_eq(o.user, "root");
	ck_assert_str_eq(o.password, "xbt");
	ck_assert_ptr_null(o.command);
	ck_assert_uint_eq(o.nparams, 0);
	ck_assert(!o.help && !o.rc_broken);
	xe_opts_release(&o);
}
END_TEST

START_TEST(args_options)
{
	struct xe_opts o;
	const char *args[] = { "-s", "h1", "vm-list", "-p", "9", "-u", "u1",
			       "-pw", "p1", "power-state=halted", "--minimal",
			       NULL };

	ck_assert_ptr_null(parse(&o, NULL, true, args));
	ck_assert_str_eq(o.server, "h1");
	ck_assert_uint_eq(o.port, 9);
	ck_assert_str_eq(o.user, "u1");
	ck_assert_str_eq(o.password, "p1");
	ck_assert_str_eq(o.command, "vm-list");
	ck_assert_uint_eq(o.nparams, 2);
	ck_assert_str_eq(o.params[0].key, "power-state");
	ck_assert_str_eq(o.params[0].val, "halted");
	ck_assert_str_eq(o.params[1].key, "minimal");
	ck_assert_str_eq(o.params[1].val, "true");
	xe_opts_release(&o);
}
END_TEST

START_TEST(args_keywords)
{
	struct xe_opts o;
	const char *args[] = { "server=h2", "port=10", "username=u2",
			       "password=p=2", "-h", "h3", "task-list", NULL };

	ck_assert_ptr_null(parse(&o, NULL, true, args));
	ck_assert_str_eq(o.server, "h3");
	ck_assert_uint_eq(o.port, 10);
	ck_assert_str_eq(o.user, "u2");
	ck_assert_str_eq(o.password, "p=2");
	ck_assert_str_eq(o.command, "task-list");
	ck_assert_uint_eq(o.nparams, 0);
	xe_opts_release(&o);
}
END_TEST

START_TEST(args_precedence)
{
	struct xe_opts o;
	const char *args[] = { "-p", "3", "vm-list", "x=a", NULL };

	write_file(".xe", "port=1\nserver=rc\nx=rc\nusername=rcuser\n");
	ck_assert_ptr_null(parse(&o, "-p,2,x=e,-u,eu", true, args));
	ck_assert_uint_eq(o.port, 3);          /* command line wins */
	ck_assert_str_eq(o.server, "rc");      /* only ~/.xe says */
	ck_assert_str_eq(o.user, "eu");        /* XE_EXTRA_ARGS over ~/.xe */
	ck_assert_str_eq(xe_param(&o, "x"), "a");
	ck_assert_uint_eq(o.nparams, 3);
	ck_assert_str_eq(o.params[1].val, "e");
	ck_assert_str_eq(o.params[2].val, "rc");
	xe_opts_release(&o);

	ck_assert_ptr_null(parse(&o, "-p,2", true, NULL));
	ck_assert_uint_eq(o.port, 2);
	xe_opts_release(&o);

	/* Without HOME, ~/.xe is not read. */
	ck_assert_ptr_null(parse(&o, NULL, false, NULL));
	ck_assert_uint_eq(o.port, 8080);
	xe_opts_release(&o);
}
END_TEST

START_TEST(args_rc_broken)
{
	struct xe_opts o;

	write_file(".xe", "server=rc\nbroken\n");
	ck_assert_ptr_null(parse(&o, NULL, true, NULL));
	ck_assert(o.rc_broken);
	ck_assert_str_eq(o.server, "127.0.0.1");
	xe_opts_release(&o);
}
END_TEST

START_TEST(args_extra_command_and_escape)
{
	struct xe_opts o;

	ck_assert_ptr_null(parse(&o, "vm-list,params=uuid\\,power-state",
				 true, NULL));
	ck_assert_str_eq(o.command, "vm-list");
	ck_assert_str_eq(xe_param(&o, "params"), "uuid,power-state");
	xe_opts_release(&o);
}
END_TEST

START_TEST(args_help_words)
{
	struct xe_opts o;
	const char *args[] = { "help", "vm-start", NULL };
	const char *args2[] = { "vm-list", "--help", NULL };

	ck_assert_ptr_null(parse(&o, NULL, true, args));
	ck_assert_str_eq(o.command, "help");
	ck_assert_uint_eq(o.nwords, 1);
	ck_assert_str_eq(o.words[0], "vm-start");
	xe_opts_release(&o);
	ck_assert_ptr_null(parse(&o, NULL, true, args2));
	ck_assert(o.help);
	xe_opts_release(&o);
}
END_TEST

START_TEST(args_errors)
{
	struct xe_opts o;

	usage_is(parse(&o, NULL, true, (const char *[]){ "-p", "x", NULL }),
		 "Port number must be an integer (0-65535)");
	xe_opts_release(&o);
	usage_is(parse(&o, NULL, true,
		       (const char *[]){ "-p", "65536", NULL }),
		 "Port number must be an integer (0-65535)");
	xe_opts_release(&o);
	usage_is(parse(&o, NULL, true, (const char *[]){ "vm-list", "-s",
							 NULL }),
		 "Option -s needs a value");
	xe_opts_release(&o);
	usage_is(parse(&o, NULL, true, (const char *[]){ "-z", NULL }),
		 "Unknown option '-z'");
	xe_opts_release(&o);
	usage_is(parse(&o, NULL, true, (const char *[]){ "=v", NULL }),
		 "Syntax error: '=v' has no parameter name");
	xe_opts_release(&o);
	/* Errors in XE_EXTRA_ARGS are reported too. */
	usage_is(parse(&o, "-p,nope", true, NULL),
		 "Port number must be an integer (0-65535)");
	xe_opts_release(&o);
}
END_TEST

START_TEST(args_pwfile)
{
	struct xe_opts o;
	char path[128], msg[256];

	snprintf(path, sizeof(path), "%s/pw", tmpdir);
	write_file("pw", "fileuser\r\nfilepass\n");
	ck_assert_ptr_null(parse(&o, NULL, true, (const char *[]){
		"-u", "other", "-pwf", path, NULL }));
	ck_assert_str_eq(o.user, "fileuser");
	ck_assert_str_eq(o.password, "filepass");
	xe_opts_release(&o);

	write_file("pw", "onlyuser\n");
	usage_is(parse(&o, NULL, true, (const char *[]){ "-pwf", path,
							 NULL }),
		 "Error: password file format: expecting username on the "
		 "first line, password on the second line");
	xe_opts_release(&o);

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	snprintf(msg, sizeof(msg), "Error opening password file '%s'", path);
	usage_is(parse(&o, NULL, true, (const char *[]){ "-pwf", path,
							 NULL }), msg);
	xe_opts_release(&o);
}
END_TEST

START_TEST(params_bool_and_need)
{
	struct xe_opts o;
	const char *v;
	bool b;
	const char *args[] = { "a=yes", "b=0", "c=maybe", "--d", NULL };

	ck_assert_ptr_null(parse(&o, NULL, true, args));
	ck_assert_ptr_null(xe_param_bool(&o, "a", false, &b));
	ck_assert(b);
	ck_assert_ptr_null(xe_param_bool(&o, "b", true, &b));
	ck_assert(!b);
	ck_assert_ptr_null(xe_param_bool(&o, "d", false, &b));
	ck_assert(b);
	ck_assert_ptr_null(xe_param_bool(&o, "absent", true, &b));
	ck_assert(b);
	usage_is(xe_param_bool(&o, "c", false, &b),
		 "Failed to parse parameter 'c': expecting 'true' or 'false'");
	ck_assert_ptr_null(xe_param_need(&o, "a", &v));
	ck_assert_str_eq(v, "yes");
	usage_is(xe_param_need(&o, "uuid", &v),
		 "Required parameter not found: uuid");
	ck_assert(xe_param_is_std("minimal") && xe_param_is_std("params"));
	ck_assert(!xe_param_is_std("power-state"));
	xe_opts_release(&o);
}
END_TEST

/* ---- output ------------------------------------------------------------------ */

START_TEST(layout_record)
{
	struct xe_record r = { NULL, 0 };
	xbt_buf b = XBT_BUF_INIT;

	xe_record_add(&r, "uuid", "( RO)", "u-1");
	xe_record_add(&r, "name-label", "( RW)", "demo-ok");
	xe_record_add(&r, "power-state", "( RO)", "halted");
	xe_layout_record(&r, &b);
	ck_assert_str_eq(b.buf,
		"uuid ( RO)           : u-1\n"
		"     name-label ( RW): demo-ok\n"
		"    power-state ( RO): halted\n"
		"\n\n");
	xe_record_release(&r);
	xbt_buf_release(&b);
}
END_TEST

START_TEST(layout_single_and_unsafe)
{
	struct xe_record r = { NULL, 0 };
	xbt_buf b = XBT_BUF_INIT;

	xe_record_add(&r, "other-config", "(MRW)", "k: v\x1b[0m");
	xe_layout_record(&r, &b);
	ck_assert_str_eq(b.buf, "other-config (MRW)    : k: v\\x1b[0m\n\n\n");
	xe_record_release(&r);
	xbt_buf_release(&b);
}
END_TEST

START_TEST(minimal_escape)
{
	xbt_buf b = XBT_BUF_INIT;

	xe_minimal_escape("a,b\\c", &b);
	ck_assert_str_eq(b.buf, "a\\,b\\\\c");
	xbt_buf_release(&b);
}
END_TEST

static void float_is(double d, const char *want)
{
	xbt_buf b = XBT_BUF_INIT;

	xe_format_float(d, &b);
	ck_assert_str_eq(b.buf, want);
	xbt_buf_release(&b);
}

START_TEST(format_float)
{
	float_is(1.0, "1.");
	float_is(0.0, "0.");
	float_is(-2.0, "-2.");
	float_is(0.5, "0.5");
	float_is(0.1, "0.1");
	float_is(1e20, "1e+20");
}
END_TEST

START_TEST(format_datetime)
{
	xbt_buf b = XBT_BUF_INIT;

	xe_format_datetime(0, &b);
	ck_assert_str_eq(b.buf, "19700101T00:00:00Z");
	xbt_buf_reset(&b);
	xe_format_datetime(1767225600 + 3723, &b);
	ck_assert_str_eq(b.buf, "20260101T01:02:03Z");
	xbt_buf_release(&b);
}
END_TEST

START_TEST(error_plain)
{
	xbt_error *e = XBT_RAISE("VM_BAD_POWER_STATE", "OpaqueRef:1",
				 "halted", "running");
	xbt_buf b = XBT_BUF_INIT;

	xe_format_error(e, false, &b);
	ck_assert_str_eq(b.buf,
		"Error code: VM_BAD_POWER_STATE\n"
		"Error parameters: OpaqueRef:1, halted, running\n");
	xbt_buf_release(&b);
	xbt_error_free(e);
}
END_TEST

/* --trace prints the error's frames as libxbt's human form, one for one. */
START_TEST(error_trace)
{
	static const char sexp[] =
		"(((process\"FAIL @ h1\")(filename /sm/FAILSR)(line 42)"
		"(chars_start 0)(chars_end 0)(is_inline false)"
		"(is_raise true))"
		"((process\"xbtd @ h1\")(filename server/sm.c)(line 310)"
		"(chars_start 0)(chars_end 0)(name sm_decode)"
		"(is_inline false)(is_raise true))"
		"((process\"xbtd @ h1\")(filename server/vm.c)(line 120)"
		"(chars_start 0)(chars_end 0)(name vm_start)"
		"(is_inline false)(is_raise false)))";
	xbt_error *e = XBT_RAISE("SR_BACKEND_FAILURE_202", "",
				 "General backend error", "");
	xbt_buf b = XBT_BUF_INIT;

	xbt_backtrace_release(&e->bt);
	ck_assert_ptr_null(xbt_backtrace_from_sexp(sexp, strlen(sexp),
						   &e->bt));
	xe_format_error(e, true, &b);
	ck_assert_str_eq(b.buf,
		"Error code: SR_BACKEND_FAILURE_202\n"
		"Error parameters: , General backend error, \n"
		"Raised Server_error(SR_BACKEND_FAILURE_202, "
		"[ ; General backend error;  ])\n"
		"Backtrace:\n"
		"1/3 FAIL @ h1 Raised at file \"/sm/FAILSR\", line 42\n"
		"2/3 xbtd @ h1 Re-raised at sm_decode in file "
		"\"server/sm.c\", line 310\n"
		"3/3 xbtd @ h1 Called from vm_start in file "
		"\"server/vm.c\", line 120\n");
	xbt_buf_release(&b);
	xbt_error_free(e);
}
END_TEST

START_TEST(error_no_params)
{
	xbt_error *e = XBT_RAISE("SESSION_INVALID");
	xbt_buf b = XBT_BUF_INIT;

	xbt_backtrace_release(&e->bt);
	xe_format_error(e, true, &b);
	ck_assert_str_eq(b.buf,
		"Error code: SESSION_INVALID\n"
		"Error parameters: \n"
		"Raised Server_error(SESSION_INVALID, [  ])\n"
		"Backtrace:\n");
	xbt_buf_release(&b);
	xbt_error_free(e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("xe");
	TCase *tc = tcase_create("parse");
	TCase *out = tcase_create("output");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, split_plain);
	tcase_add_test(tc, split_escaped_comma);
	tcase_add_test(tc, split_escaped_backslash);
	tcase_add_test(tc, split_empty_pieces);
	tcase_add_test(tc, rc_lines);
	tcase_add_test(tc, rc_broken_line_drops_all);
	tcase_add_test(tc, args_defaults);
	tcase_add_test(tc, args_options);
	tcase_add_test(tc, args_keywords);
	tcase_add_test(tc, args_precedence);
	tcase_add_test(tc, args_rc_broken);
	tcase_add_test(tc, args_extra_command_and_escape);
	tcase_add_test(tc, args_help_words);
	tcase_add_test(tc, args_errors);
	tcase_add_test(tc, args_pwfile);
	tcase_add_test(tc, params_bool_and_need);
	suite_add_tcase(s, tc);
	tcase_add_test(out, layout_record);
	tcase_add_test(out, layout_single_and_unsafe);
	tcase_add_test(out, minimal_escape);
	tcase_add_test(out, format_float);
	tcase_add_test(out, format_datetime);
	tcase_add_test(out, error_plain);
	tcase_add_test(out, error_trace);
	tcase_add_test(out, error_no_params);
	suite_add_tcase(s, out);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
