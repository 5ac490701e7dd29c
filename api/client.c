/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A XenAPI client: our own methodCall text (xbt_wire_xml_call, the xapi
 * dialect) POSTed with libcurl's easy API, and the reply parsed with
 * xbt_wire_parse_response so that transport failures, malformed replies
 * and XenAPI errors stay three different things. libcurl rather than
 * xmlrpc-c's transport because only libcurl reaches a Unix-domain socket
 * (xbt-opsd). Each handle owns one CURL easy handle: its connection is
 * kept between calls, and handles are independent across threads.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <curl/curl.h>

#include "xbt/client.h"
#include "xbt/value.h"
#include "xbt/wire.h"
#include "xbt/xenapi.h"

#define UNIX_PREFIX "unix:"
#define SUN_PATH_SIZE sizeof(((struct sockaddr_un *)0)->sun_path)
/* What a request over a Unix socket names; the socket is the address. */
#define UNIX_REQUEST_URL "http://localhost/"

struct xbt_client {
	CURL *curl;
	struct curl_slist *headers;
	char *url; /* as given: errors name it */
	char errbuf[CURL_ERROR_SIZE];
};

/* One reply being received, bounded by XBT_CLIENT_MAX_RESPONSE. */
struct sink {
	xbt_buf body;
	bool too_big;
};

static pthread_once_t client_once = PTHREAD_ONCE_INIT;
static const char *client_setup_error; /* set once, by client_setup */

/*
 * Once per process, before the first easy handle: curl_global_init (not
 * thread-safe in every libcurl, and never undone: other handles may live
 * until exit), and the process-wide XML size limit, which also bounds the
 * responses the client parses. The limit is only ever raised.
 */
static void client_setup(void)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK)
		client_setup_error = curl_easy_strerror(rc);
	if (xmlrpc_limit_get(XMLRPC_XML_SIZE_LIMIT_ID) < XBT_CLIENT_MAX_RESPONSE)
		xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID,
				 XBT_CLIENT_MAX_RESPONSE);
}

static size_t sink_write(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n; /* size is 1 */

	/* Anything but len aborts the transfer (CURLE_WRITE_ERROR). */
	if (len > XBT_CLIENT_MAX_RESPONSE - s->body.len) {
		s->too_big = true;
		return 0;
	}
	xbt_buf_add(&s->body, data, len);
	return len;
}

/* Options are set once: every call reuses them, and the connection. */
static CURLcode client_setopts(xbt_client *c, const char *unix_path,
			       unsigned timeout_ms)
{
	CURL *h = c->curl;
	CURLcode rc = CURLE_OK;

/* The first failure sticks (out of memory, an option libcurl lacks). */
#define SET(opt, val)                                    \
	do {                                             \
		if (rc == CURLE_OK)                      \
			rc = curl_easy_setopt(h, opt, val); \
	} while (0)
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	if (unix_path) {
		SET(CURLOPT_UNIX_SOCKET_PATH, unix_path);
		SET(CURLOPT_URL, UNIX_REQUEST_URL);
		/* "" is no proxy at all, whatever the environment says. */
		SET(CURLOPT_PROXY, "");
	} else {
		SET(CURLOPT_URL, c->url);
	}
	/* Threads: no SIGALRM around name lookups. */
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_HTTPHEADER, c->headers);
	SET(CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	/* A declared length past the cap fails before the body is read. */
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)XBT_CLIENT_MAX_RESPONSE);
	SET(CURLOPT_WRITEFUNCTION, sink_write);
#undef SET
	return rc;
}

xbt_error *xbt_client_open(const char *url, unsigned timeout_ms,
			   xbt_client **out)
{
	xbt_error *err = NULL;
	xbt_client *c = NULL;
	const char *unix_path = NULL;
	struct curl_slist *l;
	CURLcode rc;

	*out = NULL;
	pthread_once(&client_once, client_setup);
	if (!url)
		url = "";
	if (client_setup_error) {
		err = XBT_RAISE(XBT_CLIENT_CONNECT_FAILED, url,
				client_setup_error);
		goto out;
	}
	if (!strncmp(url, UNIX_PREFIX, strlen(UNIX_PREFIX))) {
		unix_path = url + strlen(UNIX_PREFIX);
		if (unix_path[0] != '/') {
			err = XBT_RAISE(XBT_CLIENT_CONNECT_FAILED, url,
					"a unix: URL needs an absolute path");
			goto out;
		}
		if (strlen(unix_path) >= SUN_PATH_SIZE) {
			err = XBT_RAISE(XBT_CLIENT_CONNECT_FAILED, url,
					"the socket path is too long");
			goto out;
		}
	} else if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		err = XBT_RAISE(XBT_CLIENT_CONNECT_FAILED, url,
				"the URL must start with http:// or https://");
		goto out;
	}
	c = xbt_calloc(1, sizeof(*c));
	c->url = xbt_strdup(url);
	/* No "Expect: 100-continue": a large body would wait a round trip. */
	c->headers = curl_slist_append(NULL, "Content-Type: text/xml");
	l = c->headers ? curl_slist_append(c->headers, "Expect:") : NULL;
	c->curl = l ? curl_easy_init() : NULL;
	if (!c->curl) {
		err = XBT_RAISE(XBT_CLIENT_CONNECT_FAILED, url,
				"cannot set up a curl handle");
		goto out;
	}
	rc = client_setopts(c, unix_path, timeout_ms);
	if (rc != CURLE_OK) {
		err = XBT_RAISE(XBT_CLIENT_CONNECT_FAILED, url,
				curl_easy_strerror(rc));
		goto out;
	}
	*out = c;
	c = NULL;
out:
	xbt_client_close(c);
	return err;
}

void xbt_client_close(xbt_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	free(c->url);
	free(c);
}

/* The transfer: on success (NULL) s->body holds a 200 reply's body. */
static xbt_error *post(xbt_client *c, const xbt_buf *call, struct sink *s)
{
	xbt_error *err = NULL;
	xbt_buf why = XBT_BUF_INIT;
	CURLcode rc;
	long status = 0, os_errno = 0;

	c->errbuf[0] = '\0';
	rc = curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, s);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
				      (curl_off_t)call->len);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, call->buf);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(c->curl);
	if (s->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		xbt_buf_addf(&why, "response larger than %zu bytes",
			     XBT_CLIENT_MAX_RESPONSE);
		err = XBT_RAISE(XBT_CLIENT_PROTOCOL_ERROR, c->url, why.buf);
		goto out;
	}
	if (rc == CURLE_COULDNT_CONNECT &&
	    strncmp(c->url, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0) {
		/* Over a Unix socket curl speaks of "localhost port 80": the
		 * system's reason says which of absent, refused, forbidden. */
		curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
		xbt_buf_addf(&why, "cannot connect to the socket: %s",
			     os_errno ? strerror((int)os_errno)
				      : curl_easy_strerror(rc));
		err = XBT_RAISE(XBT_CLIENT_CONNECT_FAILED, c->url, why.buf);
		goto out;
	}
	if (rc != CURLE_OK) {
		xbt_buf_addstr(&why, c->errbuf[0] ? c->errbuf :
						    curl_easy_strerror(rc));
		err = XBT_RAISE(XBT_CLIENT_CONNECT_FAILED, c->url, why.buf);
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		/* xmlrpc-c's words, which callers and tests know. */
		xbt_buf_addf(&why, "HTTP response code is %ld, not 200",
			     status);
		err = XBT_RAISE(XBT_CLIENT_PROTOCOL_ERROR, c->url, why.buf);
	}
out:
	xbt_buf_release(&why);
	return err;
}

xbt_error *xbt_client_call(xbt_client *c, const char *method,
			   xmlrpc_value *params, xmlrpc_value **result)
{
	xbt_error *err = NULL;
	xbt_buf call = XBT_BUF_INIT, why_buf = XBT_BUF_INIT;
	struct sink s = { XBT_BUF_INIT, false };
	xmlrpc_value *r = NULL;
	char *fault = NULL;
	const char *why = NULL;
	int fault_code = 0;

	*result = NULL;
	xbt_wire_xml_call(&call, method, params);
	err = XBT_PROPAGATE(post(c, &call, &s));
	if (err)
		goto out;
	err = xbt_wire_parse_response(s.body.buf, s.body.len, &r, &fault_code,
				      &fault);
	if (err) {
		xbt_buf_addf(&why_buf, "%s",
			     err->nparams > 1 ? err->params[1] : err->code);
		err = XBT_RERAISE(err, XBT_CLIENT_PROTOCOL_ERROR, c->url,
				  why_buf.buf);
		goto out;
	}
	if (!r) {
		xbt_buf_addf(&why_buf, "XML-RPC fault %d: %s", fault_code,
			     fault);
		err = XBT_RAISE(XBT_CLIENT_PROTOCOL_ERROR, c->url, why_buf.buf);
		goto out;
	}
	err = XBT_PROPAGATE(xbt_client_decode_response_why(r, result, &why));
	if (!err && why) {
		xbt_buf_addf(&why_buf, "not a XenAPI response: %s", why);
		err = XBT_RAISE(XBT_CLIENT_PROTOCOL_ERROR, c->url, why_buf.buf);
	}
out:
	if (r)
		xmlrpc_DECREF(r);
	free(fault);
	xbt_buf_release(&s.body);
	xbt_buf_release(&call);
	xbt_buf_release(&why_buf);
	return err;
}

/* ---- XenAPI response structs ------------------------------------------- */

/* The ErrorDescription's strings (safe copies) as a raised error. */
static xbt_error *remote_error(xmlrpc_value *ed, const char **why)
{
	xmlrpc_env env;
	xbt_error *err = NULL;
	char **v = NULL;
	int n, i;

	xmlrpc_env_init(&env);
	n = xmlrpc_value_type(ed) == XMLRPC_TYPE_ARRAY ?
		    xmlrpc_array_size(&env, ed) : 0;
	if (n <= 0) {
		*why = "ErrorDescription is not a non-empty array";
		goto out;
	}
	v = xbt_calloc((size_t)n, sizeof(*v));
	for (i = 0; i < n; i++) {
		xmlrpc_value *item = NULL;
		char *s;
		size_t len = 0;

		xmlrpc_array_read_item(&env, ed, (unsigned)i, &item);
		if (env.fault_occurred)
			break;
		s = xbt_value_text(item, &len);
		xmlrpc_DECREF(item);
		if (!s)
			break;
		v[i] = xbt_text_safe_dup(s, len);
		free(s);
	}
	if (i < n) {
		*why = "ErrorDescription holds a non-string";
		goto out;
	}
	err = XBT_RELAY(v[0], (size_t)n - 1, (const char *const *)v + 1);
out:
	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
	xmlrpc_env_clean(&env);
	return err;
}

xbt_error *xbt_client_decode_response_why(xmlrpc_value *response,
					xmlrpc_value **value,
					const char **why)
{
	xbt_error *err = NULL;
	xmlrpc_value *status = NULL, *member_v = NULL;
	char *s = NULL;
	size_t n = 0;

	*value = NULL;
	*why = NULL;
	if (!response || xmlrpc_value_type(response) != XMLRPC_TYPE_STRUCT) {
		*why = "response is not a struct";
		goto out;
	}
	status = xbt_value_get(response, "Status");
	if (!(s = xbt_value_text(status, &n))) {
		*why = "no Status string";
		goto out;
	}
	if (!strcmp(s, "Success")) {
		if (!(member_v = xbt_value_get(response, "Value"))) {
			*why = "Success without Value";
			goto out;
		}
		*value = member_v;
		member_v = NULL;
	} else if (!strcmp(s, "Failure")) {
		if (!(member_v = xbt_value_get(response, "ErrorDescription"))) {
			*why = "Failure without ErrorDescription";
			goto out;
		}
		err = XBT_PROPAGATE(remote_error(member_v, why));
	} else {
		*why = "Status is neither Success nor Failure";
	}
out:
	if (status)
		xmlrpc_DECREF(status);
	if (member_v)
		xmlrpc_DECREF(member_v);
	free(s);
	return err;
}

xbt_error *xbt_client_decode_response(xmlrpc_value *response,
				    xmlrpc_value **value)
{
	const char *why;
	xbt_error *err = XBT_PROPAGATE(
		xbt_client_decode_response_why(response, value, &why));

	if (!err && why)
		err = XBT_RAISE_INTERNAL_ERROR("bad XenAPI response");
	return err;
}
