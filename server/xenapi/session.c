/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The session class: password logins (root's password, or a users file of
 * crypt(3) hashes checked with crypt_r because handlers run on many
 * threads), logout, idle expiry, and the check every other call makes.
 */
#include "config.h"

#include <crypt.h>
#include <pthread.h>
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
/* The users file's table: replaced whole by a reload (SIGHUP), read by
 * concurrent logins, both under session_users_lock. */
static pthread_mutex_t session_users_lock = PTHREAD_MUTEX_INITIALIZER;
static struct session_user *session_users;
static size_t session_nusers;
/* Local sessions (slave_local_login_with_password): refs, under the lock.
 * As xapi's, they are this host's alone, whatever its role. */
static xbt_strv session_local;

/* Bumped whenever a session ends, for calls that wait (event.c). */
static atomic_uint session_ends;

xbt_error *session_load_users(const char *path);
void session_free_users(void);

static void session_users_free(struct session_user *users, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(users[i].name);
		free(users[i].hash);
	}
	free(users);
}

/* Reads the whole file, then swaps it in; on an error the old table stays. */
xbt_error *session_load_users(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	unsigned lineno = 0;
	xbt_error *err = NULL;
	struct session_user *users = NULL, *old;
	size_t nusers = 0, nold;

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
		users = xbt_reallocarray(users, nusers + 1, sizeof(*users));
		users[nusers].name = xbt_strdup(line);
		users[nusers].hash = xbt_strdup(colon + 1);
		nusers++;
	}
out:
	if (f)
		fclose(f);
	if (err) {
		session_users_free(users, nusers);
		return err;
	}
	pthread_mutex_lock(&session_users_lock);
	old = session_users;
	nold = session_nusers;
	session_users = users;
	session_nusers = nusers;
	pthread_mutex_unlock(&session_users_lock);
	session_users_free(old, nold);
	return NULL;
}

void session_free_users(void)
{
	xbt_strv_clear(&session_local);
	pthread_mutex_lock(&session_users_lock);
	session_users_free(session_users, session_nusers);
	session_users = NULL;
	session_nusers = 0;
	pthread_mutex_unlock(&session_users_lock);
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
	xbt_strv hashes = { 0 };

	if (strcmp(user, "root") == 0)
		ok = session_same(pwd, xbtd_conf.password ? xbtd_conf.password
							  : XBTD_DEFAULT_PASSWORD);
	if (ok)
		return true;
	/* The user's hashes, copied: crypt runs outside the lock. */
	pthread_mutex_lock(&session_users_lock);
	for (size_t i = 0; i < session_nusers; i++)
		if (strcmp(session_users[i].name, user) == 0)
			xbt_strv_add(&hashes, session_users[i].hash);
	pthread_mutex_unlock(&session_users_lock);
	for (size_t i = 0; !ok && i < hashes.n; i++) {
		struct crypt_data *cd = xbt_calloc(1, sizeof(*cd));
		const char *h = crypt_r(pwd, hashes.v[i], cd);
		ok = h && h[0] != '*' && session_same(h, hashes.v[i]);
		free(cd);
	}
	xbt_strv_clear(&hashes);
	return ok;
}

/* Sleeps a while after a failed login: slows password guessing. */
static void session_fail_delay(void)
{
	struct timespec delay = { 0, SESSION_FAIL_DELAY_MS * 1000000L };

	nanosleep(&delay, NULL);
}

/* ---- caps (doc/design.md, "Logins"; xapi's db_gc_util.ml) ------------ */

#define SESSION_CAP_NAMED 500   /* per originator (root) or user name */
#define SESSION_CAP_SHARED 400  /* root without originator; pool sessions */

static bool session_rootish(const struct xbt_session_record *s)
{
	return !s->auth_user_name[0] || strcmp(s->auth_user_name, "root") == 0;
}

/* Whether a and b count against the same cap. */
static bool session_same_group(const struct xbt_session_record *a,
			       const struct xbt_session_record *b)
{
	if (a->pool || b->pool)
		return a->pool && b->pool;
	if (session_rootish(a) != session_rootish(b))
		return false;
	if (session_rootish(a))
		return strcmp(a->originator, b->originator) == 0;
	return strcmp(a->auth_user_name, b->auth_user_name) == 0;
}

static size_t session_cap_of(const struct xbt_session_record *s)
{
	return s->pool || (session_rootish(s) && !s->originator[0])
		? SESSION_CAP_SHARED : SESSION_CAP_NAMED;
}

struct session_spare {
	const char *ref;
	int64_t last_active;
	size_t order;              /* creation order, for equal times */
};

struct session_cap_walk {
	const struct xbt_session_record *like;
	const char *keep;          /* the new session */
	bool spares;               /* second pass: collect v */
	size_t n;                  /* sessions in the group */
	struct session_spare *v;   /* those that may go: no task running */
	size_t nv;
};

static void session_cap_one(const char *ref, const void *rec, void *ctx)
{
	struct session_cap_walk *w = ctx;
	const struct xbt_session_record *s = rec;

	if (!session_same_group(s, w->like))
		return;
	w->n++;
	/* Only past the cap are sessions' tasks looked at. */
	if (!w->spares || strcmp(ref, w->keep) == 0 ||
	    task_any_pending(&s->tasks))
		return;
	w->v = xbt_reallocarray(w->v, w->nv + 1, sizeof(*w->v));
	w->v[w->nv].ref = ref;
	w->v[w->nv].last_active = s->last_active;
	w->v[w->nv].order = w->nv;
	w->nv++;
}

static int session_spare_cmp(const void *a, const void *b)
{
	const struct session_spare *x = a, *y = b;

	if (x->last_active != y->last_active)
		return x->last_active < y->last_active ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * Under the lock, after a session is made: past its group's cap, the
 * group's sessions with no task running go, least recently active first.
 */
static void session_enforce_cap(const char *ref)
{
	struct session_cap_walk w = { .keep = ref };
	size_t cap, over;

	w.like = store_get(&xbt_class_session, ref);
	cap = session_cap_of(w.like);
	store_foreach(&xbt_class_session, session_cap_one, &w);
	if (w.n > cap) {
		w.spares = true;
		w.n = 0;
		store_foreach(&xbt_class_session, session_cap_one, &w);
		over = w.n - cap;
		qsort(w.v, w.nv, sizeof(*w.v), session_spare_cmp);
		log_info("sessions: %zu in the group of session %s, over the "
			 "cap of %zu: the %zu least recently active go", w.n,
			 ref, cap, over < w.nv ? over : w.nv);
		for (size_t i = 0; i < over && i < w.nv; i++)
			session_destroy(w.v[i].ref);
	}
	free(w.v);
}

static const char *session_new(const char *user, const char *originator)
{
	struct xbt_session_record *s = xbt_calloc(1, sizeof(*s));

	xbt_record_init(&xbt_class_session, s);
	free(s->this_host);
	s->this_host = xbt_strdup(host_self());
	free(s->auth_user_name);
	s->auth_user_name = xbt_strdup(user);
	free(s->originator);
	s->originator = xbt_strdup(originator);
	s->last_active = now_seconds();
	s->validation_time = s->last_active;
	s->is_local_superuser = strcmp(user, "root") == 0;
	return store_add(&xbt_class_session, s);
}

/* session_new, then the cap of its group. */
static const char *session_open(const char *user, const char *originator,
				bool pool)
{
	const char *ref = session_new(user, originator);

	if (pool)
		((struct xbt_session_record *)store_edit(&xbt_class_session,
							 ref))->pool = true;
	session_enforce_cap(ref);
	return ref;
}

char *session_open_internal(const char *user, const char *originator)
{
	char *ref;

	store_lock();
	ref = xbt_strdup(session_open(user, originator, false));
	store_unlock();
	return ref;
}

/* A refused login: logged, slowed down, SESSION_AUTHENTICATION_FAILED
 * [who, why] as xapi words it. */
static xbt_error *session_refused(const char *what, const char *who,
				  const char *why)
{
	/* login_limit.c logs failures once an interval, with their count. */
	log_debug("%s refused for \"%.64s\"", what, who);
	session_fail_delay();
	return XBT_RAISE_SESSION_AUTHENTICATION_FAILED(who, why);
}

/* The call's user and password (its first two arguments), throttled
 * across connections (login_limit.c). */
static xbt_error *session_check_password(struct call *call, const char *what)
{
	const char *user = call->argv[0].s;
	char peer[RPC_PEER_MAX];
	xbt_error *err = NULL;
	bool ok;

	rpc_peer(call, peer, sizeof(peer));
	if (!login_limit_enter(peer, user)) {
		err = session_refused(what, user, "Too many failed logins: "
				      "try again later");
		goto out;
	}
	ok = session_authenticate(user, call->argv[1].s);
	login_limit_leave(peer, user, ok);
	if (!ok)
		err = session_refused(what, user, "Authentication failure");
out:
	return err;
}

xbt_error *session_login_with_password(struct call *call,
				       xmlrpc_value *const *args,
				       xmlrpc_value **result)
{
	const char *user = call->argv[0].s;
	xbt_error *err = NULL;

	if ((err = XBT_PROPAGATE(session_check_password(call, "login"))))
		goto out;
	store_lock();
	*result = xbt_value_string(session_open(user, call->argv[3].s,
						false));
	store_unlock();
out:
	return err;
}

void session_destroy(const char *ref)
{
	const struct xbt_session_record *s =
		store_get(&xbt_class_session, ref);

	if (s)
		task_orphan(&s->tasks);  /* its task.create tasks left pending */
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
	ref = session_open("root", "xbt-pool", true);
	s = store_edit(&xbt_class_session, ref);
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

	if ((err = XBT_PROPAGATE(session_check_password(call, "local login"))))
		goto out;
	store_lock();
	ref = session_open(user, "xbt-local", false);
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
