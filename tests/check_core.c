/* SPDX-License-Identifier: BSD-2-Clause */
/* Placeholder; the full core suite replaces this file. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "xbt/backtrace.h"

START_TEST(test_raise_sexp)
{
	xbt_error *e = XBT_RAISE("X", "a");
	xbt_buf b = XBT_BUF_INIT;
	xbt_backtrace_to_sexp(&e->bt, &b);
	ck_assert_ptr_nonnull(strstr(b.buf, "(filename tests/check_core.c)"));
	xbt_buf_release(&b);
	xbt_error_free(e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_raise_sexp);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
