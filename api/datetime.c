/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one calendar: proleptic Gregorian dates to and from days since
 * 1970-01-01 (Howard Hinnant's algorithms, public domain in spirit; written
 * here from their description), and the datetime text of the wire
 * ("YYYYMMDDTHH:MM:SSZ", years 1970-9999).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "xbt/buf.h"
#include "xbt/model.h"
#include "xbt/xenapi.h"

#define MIN_YEAR 1970
#define MAX_YEAR 9999

int64_t xbt__days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void xbt__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp + (mp < 10 ? 3 : -9));
	*y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned char mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return mdays[m - 1] + (m == 2 && is_leap(y));
}

bool xbt__civil_valid(unsigned y, unsigned mo, unsigned d, unsigned h,
		      unsigned mi, unsigned s)
{
	return y >= MIN_YEAR && y <= MAX_YEAR && mo >= 1 && mo <= 12 &&
	       d >= 1 && d <= days_in_month(y, mo) && h <= 23 && mi <= 59 &&
	       s <= 59;
}

/* Seconds since the epoch of a valid UTC date and time. */
static int64_t civil_to_secs(unsigned y, unsigned mo, unsigned d, unsigned h,
			     unsigned mi, unsigned s)
{
	return ((xbt__days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + s;
}

/* n decimal digits at s, or false. */
static bool digits(const char *s, int n, unsigned *v)
{
	unsigned r = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		r = r * 10 + (unsigned)(s[i] - '0');
	}
	*v = r;
	return true;
}

bool xbt_datetime_parse(const char *s, size_t len, int64_t *secs)
{
	unsigned y, mo, d, h, mi, se;
	bool dashes;

	if (len > 0 && s[len - 1] == 'Z')
		len--;
	if (len == 17)
		dashes = false;
	else if (len == 19)
		dashes = true;
	else
		return false;
	if (dashes && (s[4] != '-' || s[7] != '-'))
		return false;
	if (!digits(s, 4, &y) || !digits(s + (dashes ? 5 : 4), 2, &mo) ||
	    !digits(s + (dashes ? 8 : 6), 2, &d))
		return false;
	s += dashes ? 10 : 8;
	if (s[0] != 'T' || s[3] != ':' || s[6] != ':' || !digits(s + 1, 2, &h) ||
	    !digits(s + 4, 2, &mi) || !digits(s + 7, 2, &se))
		return false;
	if (!xbt__civil_valid(y, mo, d, h, mi, se))
		return false;
	*secs = civil_to_secs(y, mo, d, h, mi, se);
	return true;
}

void xbt_datetime_format(int64_t secs, char *out)
{
	int64_t y, days;
	unsigned m, d;
	int64_t rem;

	/* The wire's range: 1970 to the end of 9999. */
	if (secs < 0)
		secs = 0;
	if (secs > civil_to_secs(MAX_YEAR, 12, 31, 23, 59, 59))
		secs = civil_to_secs(MAX_YEAR, 12, 31, 23, 59, 59);
	days = secs / 86400;
	rem = secs % 86400;
	xbt__civil_from_days(days, &y, &m, &d);
	snprintf(out, XBT_DATETIME_LEN + 1, "%04u%02u%02uT%02u:%02u:%02uZ",
		 (unsigned)y, m, d, (unsigned)(rem / 3600),
		 (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
}

bool xbt__datetime_secs(xmlrpc_value *v, int64_t *secs)
{
	xmlrpc_env env;
	xmlrpc_datetime dt;
	bool ok = false;

	xmlrpc_env_init(&env);
	xmlrpc_read_datetime(&env, v, &dt);
	if (!env.fault_occurred && xbt__civil_valid(dt.Y, dt.M, dt.D, dt.h,
						    dt.m, dt.s)) {
		*secs = civil_to_secs(dt.Y, dt.M, dt.D, dt.h, dt.m, dt.s);
		ok = true;
	}
	xmlrpc_env_clean(&env);
	return ok;
}
