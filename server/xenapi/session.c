/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The session class: password logins (root's password, or a users file of
 * crypt(3) hashes checked with crypt_r because handlers run on many
 * threads), logout, idle expiry, and the check every other call makes.
 */
#include "config.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <time.h>

#include "evlog.h"
#include "log.h"
#include "xbtd.h"

/* A failed login costs the caller this long: slows password guessing. */
#define SESSION_FAIL_DELAY_MS 300

struct session_user {
	char *name;
	char *hash;
};
static struct session_user *session_users;
static size_t session_nusers;
/* Local sessions (slave_local_login_with_password): refs, under the lock.
 * As xapi's, they are this host's alone, whatever its role. */
static xbt_strv session_local;

/* Bumped whenever a session ends, for calls that wait (event.c). */
static atomic_uint session_ends;

xbt_error *session_load_users(const char *path);
void session_free_users(void);

xbt_error *session_load_users(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	unsigned lineno = 0;
	xbt_error *err = NULL;

	if (!f) {
		char msg[600];

		snprintf(msg, sizeof(msg), "users file %.400s: %s", path,
			 strerror(errno));
		err = XBT_RAISE_INTERNAL_ERROR(msg);
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		char *colon, *end;
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		colon = strchr(line, ':');
		end = colon ? colon + 1 + strcspn(colon + 1, ":") : NULL;
		if (!colon || colon == line || end == colon + 1) {
			char msg[600];

			snprintf(msg, sizeof(msg), "users file %.400s:%u: "
				 "expected user:crypt-hash", path, lineno);
			err = XBT_RAISE_INTERNAL_ERROR(msg);
			goto out;
		}
		*colon = '\0';
		*end = '\0';
		session_users = xbt_reallocarray(session_users,
						 session_nusers + 1,
						 sizeof(*session_users));
		session_users[session_nusers].name = xbt_strdup(line);
		session_users[session_nusers].hash = xbt_strdup(colon + 1);
		session_nusers++;
	}
out:
	if (f)
		fclose(f);
	return err;
}

void session_free_users(void)
{
	xbt_strv_clear(&session_local);
	for (size_t i = 0; i < session_nusers; i++) {
		free(session_users[i].name);
		free(session_users[i].hash);
	}
	free(session_users);
	session_users = NULL;
	session_nusers = 0;
}

/* Compares without an early exit, so timing does not leak the prefix. */
static bool session_same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return diff == 0 && lb == la;
}

static bool session_authenticate(const char *user, const char *pwd)
{
	bool ok = false;

	if (strcmp(user, "root") == 0)
		ok = session_same(pwd, xbtd_conf.password ? xbtd_conf.password
							  : XBTD_DEFAULT_PASSWORD);
	for (size_t i = 0; !ok && i < session_nusers; i++) {
		if (strcmp(session_users[i].name, user) != 0)
			continue;
		struct crypt_data *cd = xbt_calloc(1, sizeof(*cd));
		const char *h = crypt_r(pwd, session_users[i].hash, cd);
		ok = h && h[0] != '*' && session_same(h, session_users[i].hash);
		free(cd);
	}
	return ok;
}

/* Sleeps a while after a failed login: slows password guessing. */
static void session_fail_delay(void)
{
	struct timespec delay = { 0, SESSION_FAIL_DELAY_MS * 1000000L };

	nanosleep(&delay, NULL);
}

static const char *session_new(const char *user, const char *originator)
{
	struct xbt_session_record *s = xbt_calloc(1, sizeof(*s));

	xbt_record_init(&xbt_class_session, s);
	free(s->this_host);
	s->this_host = xbt_strdup(host_self());
	free(s->this_user);
	s->this_user = xbt_strdup("");
	free(s->auth_user_name);
	s->auth_user_name = xbt_strdup(user);
	free(s->originator);
	s->originator = xbt_strdup(originator);
	s->last_active = now_seconds();
	s->validation_time = s->last_active;
	s->is_local_superuser = strcmp(user, "root") == 0;
	return store_add(&xbt_class_session, s);
}

char *session_open_internal(const char *user, const char *originator)
{
	char *ref;

	store_lock();
	ref = xbt_strdup(session_new(user, originator));
	store_unlock();
	return ref;
}

/* A refused login: logged, slowed down, SESSION_AUTHENTICATION_FAILED
 * [who, why] as xapi words it. */
static xbt_error *session_refused(const char *what, const char *who,
				  const char *why)
{
	log_info("%s refused for \"%.64s\"", what, who);
	session_fail_delay();
	return XBT_RAISE_SESSION_AUTHENTICATION_FAILED(who, why);
}

xbt_error *session_login_with_password(struct call *call,
				       xmlrpc_value *const *args,
				       xmlrpc_value **result)
{
	const char *user = call->argv[0].s;
	xbt_error *err = NULL;

	if (!session_authenticate(user, call->argv[1].s)) {
		err = session_refused("login", user, "Authentication failure");
		goto out;
	}
	store_lock();
	*result = xbt_value_string(session_new(user, call->argv[3].s));
	store_unlock();
out:
	return err;
}

void session_destroy(const char *ref)
{
	xbt_strv_remove(&session_local, ref);
	store_del(&xbt_class_session, ref);
	/* Sessions have no events: wake the waiters, who ask session_alive. */
	atomic_fetch_add(&session_ends, 1);
	evlog_poke();
}

xbt_error *session_slave_login(struct call *call, xmlrpc_value *const *args,
			       xmlrpc_value **result)
{
	const char *host = call->argv[0].s;
	struct xbt_session_record *s;
	const char *ref;
	xbt_error *err = NULL;

	if (!role_secret_ok(call->argv[1].s)) {
		err = session_refused("pool login", host,
				      "Pool credentials invalid");
		goto out;
	}
	store_lock();
	ref = session_new("root", "xbt-pool");
	s = store_edit(&xbt_class_session, ref);
	s->pool = true;
	free(s->this_host);
	s->this_host = xbt_strdup(host);
	*result = xbt_value_string(ref);
	store_unlock();
out:
	return err;
}

xbt_error *session_slave_local_login_with_password(struct call *call,
						   xmlrpc_value *const *args,
						   xmlrpc_value **result)
{
	const char *user = call->argv[0].s;
	const char *ref;
	xbt_error *err = NULL;

	if (!session_authenticate(user, call->argv[1].s)) {
		err = session_refused("local login", user,
				      "Authentication failure");
		goto out;
	}
	store_lock();
	ref = session_new(user, "xbt-local");
	xbt_strv_add(&session_local, ref);
	*result = xbt_value_string(ref);
	store_unlock();
out:
	return err;
}

enum session_kind session_kind(const char *ref)
{
	const struct xbt_session_record *s;
	enum session_kind kind = SESSION_USER;

	store_lock();
	s = store_get(&xbt_class_session, ref);
	if (s && s->pool)
		kind = SESSION_POOL;
	else if (xbt_strv_has(&session_local, ref))
		kind = SESSION_LOCAL;
	store_unlock();
	return kind;
}

unsigned session_generation(void)
{
	return atomic_load(&session_ends);
}

xbt_error *session_logout(struct call *call, xmlrpc_value *const *args,
			  xmlrpc_value **result)
{
	store_lock();
	session_destroy(call->session);
	store_unlock();
	return NULL;
}

static bool session_idle(const struct xbt_session_record *s, int64_t now)
{
	return xbtd_conf.session_idle_s &&
	       now - s->last_active > (int64_t)xbtd_conf.session_idle_s;
}

xbt_error *session_check(const char *ref)
{
	xbt_error *err;

	store_lock();
	err = XBT_PROPAGATE(session_check_locked(ref));
	store_unlock();
	return err;
}

xbt_error *session_check_locked(const char *ref)
{
	struct xbt_session_record *s;
	int64_t now = now_seconds();
	xbt_error *err = NULL;

	/* Sessions have no events, so editing one wakes no watcher. */
	s = store_edit(&xbt_class_session, ref);
	if (s && session_idle(s, now)) {
		session_destroy(ref);
		s = NULL;
	}
	if (s)
		s->last_active = now;
	else
		err = XBT_RAISE_SESSION_INVALID(ref);
	return err;
}

bool session_alive(const char *ref)
{
	bool alive;

	store_lock();
	alive = store_get(&xbt_class_session, ref) != NULL;
	store_unlock();
	return alive;
}

static void session_expire_one(const char *ref, const void *rec, void *ctx)
{
	if (session_idle(rec, *(int64_t *)ctx))
		session_destroy(ref);
}

void session_expire(int64_t now)
{
	store_lock();
	store_foreach(&xbt_class_session, session_expire_one, &now);
	store_unlock();
}
