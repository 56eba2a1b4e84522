// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * http.c - the HTTP side, over libmicrohttpd: a pool of internal threads
 * (KD_HTTP_THREADS) serving pages rendered at most once per poll (cached
 * per model generation, reference counted so a slow client keeps its copy
 * while the next poll replaces the cache).  /healthz takes no lock, so
 * neither a render nor many clients pulling big pages hold it up.
 *
 *   GET|HEAD /metrics           text format 0.0.4
 *   GET|HEAD /api/v1/snapshot   JSON (api.c)
 *   GET|HEAD /healthz           200 "ok", or 503 when no poll succeeded lately
 *   GET|HEAD /                  a few links
 *   anything else               404; another method on those paths: 405
 * With basic_auth_users in --web.config.file every path needs them (401
 * otherwise); with tls_server_config it is HTTPS only.
 *
 * libmicrohttpd bounds what a client can make us hold: headers past the
 * per-connection memory limit get 431, idle or slow connections are
 * closed after the timeout, and the connection count is capped.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "kvmcmod.h"

#define KD_HTTP_THREADS 2
#define KD_CONN_LIMIT 512               /* split among the threads */
#define KD_CONN_TIMEOUT_S 10
#define KD_CONN_MEMORY (64 * 1024)      /* request line + headers per connection */

struct kd_page {
	int refs;                       /* under d->lock */
	__u64 generation;
	char *data;
	size_t len;
	struct kd_daemon *d;
};

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* ---- pages -------------------------------------------------------------------- */

static void page_put_locked(struct kd_page *p)
{
	if (p && --p->refs == 0) {
		free(p->data);
		free(p);
	}
}

void kd_page_put(struct kd_page *p)
{
	struct kd_daemon *d;

	if (!p)
		return;
	d = p->d;
	pthread_mutex_lock(&d->lock);
	page_put_locked(p);
	pthread_mutex_unlock(&d->lock);
}

const char *kd_page_data(const struct kd_page *p, size_t *len)
{
	*len = p->len;
	return p->data;
}

void kd_pages_invalidate(struct kd_daemon *d)
{
	page_put_locked(d->metrics);
	page_put_locked(d->api);
	d->metrics = d->api = NULL;
}

static struct kd_page *page_new(struct kd_daemon *d, char *data, size_t len)
{
	struct kd_page *p = calloc(1, sizeof(*p));

	if (!p) {
		free(data);
		return NULL;
	}
	p->refs = 1;
	p->generation = d->model.generation;
	p->data = data;
	p->len = len;
	p->d = d;
	return p;
}

/* under d->lock: the cached page of that kind, rendered if stale */
static struct kd_page *cached(struct kd_daemon *d, struct kd_page **slot, bool api,
			      unsigned int flags)
{
	struct kd_page *p = *slot;

	if (!p || p->generation != d->model.generation) {
		__u64 t0 = now_ns();
		char *data = NULL;
		size_t len = 0;

		if (api) {
			data = kd_api_snapshot(&d->model);
			len = data ? strlen(data) : 0;
		} else {
			struct kd_buf b = {};

			if (kd_prom_render(&d->model, flags, &b)) {
				kd_buf_free(&b);
			} else {
				data = b.data;
				len = b.len;
			}
		}
		if (!data)
			return NULL;
		if (!api) {
			double dt = (double)(now_ns() - t0) / 1e9;

			kd_fhist_observe(&d->model.render_dur, kd_dur_bounds, KD_DUR_BUCKETS, dt);
			/* -v: each render, for tests/bench/kvmcmod-bench.sh */
			kvmcmo_info("rendered %zu bytes, %zu VMs in %.6f s", len, d->model.nvms, dt);
		}
		p = page_new(d, data, len);
		if (!p)
			return NULL;
		page_put_locked(*slot);
		*slot = p;
	}
	p->refs++;
	return p;
}

struct kd_page *kd_metrics_page(struct kd_daemon *d, unsigned int flags)
{
	struct kd_page *p;

	pthread_mutex_lock(&d->lock);
	if (flags) {
		/* the textfile variant is not cached: one render per poll */
		struct kd_page *tmp = NULL;

		p = cached(d, &tmp, false, flags);
		page_put_locked(tmp);
	} else {
		p = cached(d, &d->metrics, false, 0);
	}
	pthread_mutex_unlock(&d->lock);
	return p;
}

/* ---- responses ------------------------------------------------------------------ */

static void page_free_cb(void *cls)
{
	kd_page_put(cls);
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned int status,
				 const char *text, const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								  MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_page(struct MHD_Connection *c, struct kd_page *p,
				 const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!p)
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
	r = MHD_create_response_from_buffer_with_free_callback_cls(p->len, p->data,
								   page_free_cb, p);
	if (!r) {
		kd_page_put(p);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result healthz(struct kd_daemon *d, struct MHD_Connection *c)
{
	__u64 now = now_ns(), last, polls;
	char msg[128];

	/* without the lock: a render (which holds it) never delays /healthz */
	last = __atomic_load_n(&d->model.last_poll_ns, __ATOMIC_RELAXED);
	polls = __atomic_load_n(&d->model.polls, __ATOMIC_RELAXED);
	if (polls && now >= last && now - last <= d->healthy_within_ns)
		return send_text(c, MHD_HTTP_OK, "ok\n", NULL);
	if (!polls)
		snprintf(msg, sizeof(msg), "no poll has succeeded yet\n");
	else
		snprintf(msg, sizeof(msg), "last good poll %.1f s ago\n",
			 (double)(now - last) / 1e9);
	return send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, msg, NULL);
}

static bool authorized(struct kd_daemon *d, struct MHD_Connection *c)
{
	char *pass = NULL, *user;
	bool ok;

	if (!d->web || !d->web->nusers)
		return true;
	user = MHD_basic_auth_get_username_password(c, &pass);
	ok = user && pass && kd_webcfg_auth(d->web, user, pass);
	MHD_free(user);
	MHD_free(pass);
	return ok;
}

static const char landing[] =
	"<html><head><title>kvmcmod</title></head><body><h1>kvmcmod</h1>"
	"<p>arm64 KVM guest aborts per VM, for Prometheus.</p><ul>"
	"<li><a href=\"/metrics\">/metrics</a></li>"
	"<li><a href=\"/api/v1/snapshot\">/api/v1/snapshot</a></li>"
	"<li><a href=\"/healthz\">/healthz</a></li></ul></body></html>\n";

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version,
			       const char *upload_data, size_t *upload_size, void **req)
{
	static const char *const paths[] = { "/metrics", "/api/v1/snapshot", "/healthz", "/" };
	struct kd_daemon *d = cls;
	bool get = !strcmp(method, MHD_HTTP_METHOD_GET);
	bool head = !strcmp(method, MHD_HTTP_METHOD_HEAD);
	int route = -1;

	(void)version;
	(void)upload_data;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!strcmp(url, paths[i]))
			route = (int)i;
	/* a body is never read: the answer goes out on the first call (GET
	 * and HEAD included, so a request never waits on its client) */
	*upload_size = 0;
	*req = NULL;

	if (!authorized(d, c)) {
		static const char msg[] = "unauthorized\n";
		struct MHD_Response *r = MHD_create_response_from_buffer(
			sizeof(msg) - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
		enum MHD_Result ret;

		if (!r)
			return MHD_NO;
		ret = MHD_queue_basic_auth_fail_response(c, "kvmcmod", r);
		MHD_destroy_response(r);
		return ret;
	}
	if (route < 0)
		return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n", NULL);
	if (!get && !head)
		return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
				 "GET, HEAD");
	switch (route) {
	case 0:
		if (get) {
			pthread_mutex_lock(&d->lock);
			kd_note_scrape(&d->model, now_ns());
			pthread_mutex_unlock(&d->lock);
		}
		return send_page(c, kd_metrics_page(d, 0), "text/plain; version=0.0.4; charset=utf-8");
	case 1: {
		struct kd_page *p;

		pthread_mutex_lock(&d->lock);
		p = cached(d, &d->api, true, 0);
		pthread_mutex_unlock(&d->lock);
		return send_page(c, p, "application/json");
	}
	case 2:
		return healthz(d, c);
	default: {
		struct MHD_Response *r = MHD_create_response_from_buffer(
			sizeof(landing) - 1, (void *)landing, MHD_RESPMEM_PERSISTENT);
		enum MHD_Result ret;

		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
		ret = MHD_queue_response(c, MHD_HTTP_OK, r);
		MHD_destroy_response(r);
		return ret;
	}
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];

	(void)cls;
	if (!kvmcmo_verbose)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = 0;
	kvmcmo_info("http: %s", line);
}

int kd_http_start(struct kd_daemon *d, const char *host, unsigned int port,
		  char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD;
	struct addrinfo *ai = NULL;
	struct MHD_OptionItem o[9];
	char portstr[8];
	int rc, n = 0;

	snprintf(portstr, sizeof(portstr), "%u", port);
	rc = getaddrinfo(*host ? host : NULL, portstr, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "cannot resolve listen address '%s': %s", host,
			 gai_strerror(rc));
		return -EINVAL;
	}
	if (d->web && d->web->cert_pem)
		flags |= MHD_USE_TLS;
	if (!*host)
		flags |= MHD_USE_DUAL_STACK;
	else if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	o[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, KD_HTTP_THREADS, NULL };
	o[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, KD_CONN_LIMIT, NULL };
	o[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, KD_CONN_TIMEOUT_S, NULL };
	o[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, KD_CONN_MEMORY, NULL };
	if (*host)
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, ai->ai_addr };
	if (flags & MHD_USE_TLS) {
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, d->web->key_pem };
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, d->web->cert_pem };
	}
	o[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	d->mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handler, d,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				  MHD_OPTION_ARRAY, o, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!d->mhd) {
		snprintf(err, errlen, "cannot listen on %s%s%s:%u (in use, or not an address "
			 "of this host?)", strchr(host, ':') ? "[" : "", host,
			 strchr(host, ':') ? "]" : "", port);
		return -EADDRINUSE;
	}
	return 0;
}

void kd_http_stop(struct kd_daemon *d)
{
	if (d->mhd)
		MHD_stop_daemon(d->mhd);
	d->mhd = NULL;
}
