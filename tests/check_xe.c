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

#include "xbt/xenapi.h"
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

/* ---- views of the classes: columns, order, list fields ---------------------- */

/* The first n columns of the class's view, as "name qual". */
static void cols_are(const char *cli, size_t n, const char *const *want)
{
	const struct xe_class *cls = xe_class_find(cli);
	struct xe_view v;
	xbt_buf b = XBT_BUF_INIT;

	ck_assert_ptr_nonnull(cls);
	xe_view_init(&v, cls->desc);
	ck_assert_uint_ge(v.n, n);
	for (size_t i = 0; i < n; i++) {
		xbt_buf_reset(&b);
		xbt_buf_addf(&b, "%s %s", v.cols[i].name, v.cols[i].qual);
		ck_assert_str_eq(b.buf, want[i]);
	}
	xbt_buf_release(&b);
	xe_view_release(&v);
}

START_TEST(view_vif_columns)
{
	/* As upstream's record: vm-uuid right after uuid, then the model's
	 * order, the network ref as network-uuid and network-name-label. */
	static const char *const want[] = {
		"uuid ( RO)", "vm-uuid ( RO)", "vm-name-label ( RO)",
		"allowed-operations (SRO)", "current-operations (MRO)",
		"device ( RO)", "network-uuid ( RO)",
		"network-name-label ( RO)", "MAC ( RO)", "MTU ( RO)",
		"other-config (MRW)", "currently-attached ( RO)",
	};

	cols_are("vif", sizeof(want) / sizeof(want[0]), want);
}
END_TEST

START_TEST(view_other_classes)
{
	static const char *const pif[] = {
		"uuid ( RO)", "device ( RO)", "MAC ( RO)", "physical ( RO)",
		"managed ( RO)", "currently-attached ( RO)", "MTU ( RO)",
		"VLAN ( RO)", "network-uuid ( RO)", "network-name-label ( RO)",
		"host-uuid ( RO)", "host-name-label ( RO)",
	};
	static const char *const network[] = {
		"uuid ( RO)", "name-label ( RW)", "name-description ( RW)",
		"allowed-operations (SRO)", "current-operations (MRO)",
		"VIFs (SRO)", "PIFs (SRO)", "MTU ( RW)", "other-config (MRW)",
		"bridge ( RO)",
	};
	static const char *const host_cpu[] = {
		"uuid ( RO)", "host-uuid ( RO)", "host-name-label ( RO)",
		"number ( RO)", "vendor ( RO)", "speed ( RO)",
	};
	static const char *const console[] = {
		"uuid ( RO)", "vm-uuid ( RO)", "vm-name-label ( RO)",
		"protocol ( RO)", "location ( RO)", "other-config (MRW)",
	};

	cols_are("pif", sizeof(pif) / sizeof(pif[0]), pif);
	cols_are("network", sizeof(network) / sizeof(network[0]), network);
	cols_are("host-cpu", sizeof(host_cpu) / sizeof(host_cpu[0]), host_cpu);
	cols_are("console", sizeof(console) / sizeof(console[0]), console);
}
END_TEST

/* Lays out rec of class cli as <cli>-list (params NULL) or with params. */
static char *laid_out(const char *cli, const void *rec, const char *params)
{
	const struct xe_class *cls = xe_class_find(cli);
	struct xe_record r = { NULL, 0 };
	struct xe_view v;
	xbt_buf b = XBT_BUF_INIT;

	xe_view_init(&v, cls->desc);
	xe_obj_record(&v, rec, params, cls->list_fields, NULL, &r);
	xe_layout_record(&r, &b);
	xe_record_release(&r);
	xe_view_release(&v);
	return xbt_buf_detach(&b, NULL);
}

/* Replaces a string member that xbt_record_init filled. */
static void set_str(char **member, const char *value)
{
	free(*member);
	*member = xbt_strdup(value);
}

START_TEST(vif_list_record)
{
	xbt_vif_record rec;
	char *got;

	xbt_record_init(&xbt_class_vif, &rec);
	set_str(&rec.uuid, "vif-1");
	set_str(&rec.device, "0");
	set_str(&rec.VM, "OpaqueRef:vm");
	set_str(&rec.network, "OpaqueRef:net");
	/* Without a connection refs print as they are. */
	got = laid_out("vif", &rec, NULL);
	ck_assert_str_eq(got,
		"uuid ( RO)            : vif-1\n"
		"         vm-uuid ( RO): OpaqueRef:vm\n"
		"          device ( RO): 0\n"
		"    network-uuid ( RO): OpaqueRef:net\n"
		"\n\n");
	free(got);
	got = laid_out("vif", &rec, "network-uuid,MAC,device");
	ck_assert_str_eq(got,
		"device ( RO)          : 0\n"
		"    network-uuid ( RO): OpaqueRef:net\n"
		"             MAC ( RO): \n"
		"\n\n");
	free(got);
	xbt_record_release(&xbt_class_vif, &rec);
}
END_TEST

START_TEST(network_param_list_values)
{
	xbt_network_record rec;
	char *got;

	xbt_record_init(&xbt_class_network, &rec);
	set_str(&rec.uuid, "net-1");
	set_str(&rec.name_label, "Pool-wide network");
	set_str(&rec.bridge, "xenbr0");
	xbt_strv_add(&rec.VIFs, "OpaqueRef:a");
	xbt_strv_add(&rec.VIFs, "OpaqueRef:b");
	xbt_map_set(&rec.other_config, "k", "v");
	xbt_map_set(&rec.other_config, "k2", "v2");
	xbt_strv_add(&rec.tags, "t1");
	got = laid_out("network", &rec, "uuid,name-label,VIFs,PIFs,MTU,"
		       "other-config,bridge,managed,tags");
	ck_assert_str_eq(got,
		"uuid ( RO)            : net-1\n"
		"      name-label ( RW): Pool-wide network\n"
		"            VIFs (SRO): OpaqueRef:a; OpaqueRef:b\n"
		"            PIFs (SRO): \n"
		"             MTU ( RW): 1500\n"
		"    other-config (MRW): k: v; k2: v2\n"
		"          bridge ( RO): xenbr0\n"
		"         managed ( RO): true\n"
		"            tags (SRW): t1\n"
		"\n\n");
	free(got);
	xbt_record_release(&xbt_class_network, &rec);
}
END_TEST

START_TEST(pif_list_record_order)
{
	xbt_pif_record rec;
	char *got;

	xbt_record_init(&xbt_class_pif, &rec);
	set_str(&rec.uuid, "pif-1");
	set_str(&rec.device, "eth0");
	set_str(&rec.MAC, "02:00:00:00:00:01");
	set_str(&rec.network, "OpaqueRef:net");
	set_str(&rec.host, "OpaqueRef:host");
	/* xe's pif-list order: the record's, not the list's. */
	got = laid_out("pif", &rec, NULL);
	ck_assert_str_eq(got,
		"uuid ( RO)                  : pif-1\n"
		"                device ( RO): eth0\n"
		"                   MAC ( RO): 02:00:00:00:00:01\n"
		"    currently-attached ( RO): true\n"
		"                  VLAN ( RO): 0\n"
		"          network-uuid ( RO): OpaqueRef:net\n"
		"             host-uuid ( RO): OpaqueRef:host\n"
		"\n\n");
	free(got);
	xbt_record_release(&xbt_class_pif, &rec);
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
	tcase_add_test(out, view_vif_columns);
	tcase_add_test(out, view_other_classes);
	tcase_add_test(out, vif_list_record);
	tcase_add_test(out, network_param_list_values);
	tcase_add_test(out, pif_list_record_order);
	suite_add_tcase(s, out);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
