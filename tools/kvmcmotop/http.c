// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * http.c - one HTTP GET of a kvmcmod's /api/v1/snapshot, with libevent's
 * evhttp client (libcurl would be the usual choice, but Debian's libcurl.a
 * needs static GSSAPI libraries nobody ships, and the test image is a
 * static binary), and finding a kvmcmod on this host.
 *
 * Plain http only: kvmcmod listens on loopback by default; a remote one
 * behind TLS is reached through a tunnel or proxy (man/kvmcmotop.8).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "top.h"

/* kvmcmod's default listen address (man/kvmcmod.8) */
#define KVMCMOD_DEFAULT_PORT 10131

int top_url_parse(struct top_url *u, const char *url, char *why, size_t len)
{
	const char *p = url, *host, *end;
	size_t hl;

	memset(u, 0, sizeof(*u));
	u->port = 80;
	if (!strncmp(p, "https://", 8))
		return top_why(why, len, "'%s': https is not supported (kvmcmod serves plain "
			    "http on loopback; tunnel to it)", url);
	if (!strncmp(p, "http://", 7))
		p += 7;
	else if (strstr(p, "://"))
		return top_why(why, len, "'%s': not an http:// URL", url);
	host = p;
	if (*p == '[') {                /* [v6 address] */
		end = strchr(p, ']');
		if (!end)
			return top_why(why, len, "'%s': unterminated [address]", url);
		host = p + 1;
		hl = end - host;
		p = end + 1;
	} else {
		p += strcspn(p, ":/?#");
		hl = p - host;
	}
	if (!hl || hl >= sizeof(u->host))
		return top_why(why, len, "'%s': no host", url);
	memcpy(u->host, host, hl);
	u->host[hl] = 0;
	if (*p == ':') {
		char *e;
		long port = strtol(p + 1, &e, 10);

		if (e == p + 1 || port < 1 || port > 65535 || (*e && *e != '/'))
			return top_why(why, len, "'%s': bad port", url);
		u->port = (int)port;
		p = e;
	} else if (*p && *p != '/') {
		return top_why(why, len, "'%s': bad URL after the host", url);
	}
	if (!*p || !strcmp(p, "/"))
		p = TOP_API_PATH;
	if (strlen(p) >= sizeof(u->path))
		return top_why(why, len, "'%s': path too long", url);
	snprintf(u->path, sizeof(u->path), "%s", p);
	return 0;
}

struct get_ctx {
	int status;                     /* HTTP status, 0: no response */
	char *body;
	size_t blen;
	int err;                        /* -errno of our own */
	char reason[128];
};

static void on_done(struct evhttp_request *req, void *arg)
{
	struct get_ctx *c = arg;
	struct evbuffer *in;
	size_t n;

	if (!req) {
		c->err = -ECONNREFUSED;
		return;
	}
	c->status = evhttp_request_get_response_code(req);
	if (!c->status) {               /* connection failed or timed out */
		c->err = -ECONNREFUSED;
		return;
	}
	if (evhttp_request_get_response_code_line(req))
		snprintf(c->reason, sizeof(c->reason), "%s",
			 evhttp_request_get_response_code_line(req));
	in = evhttp_request_get_input_buffer(req);
	n = evbuffer_get_length(in);
	c->body = malloc(n + 1);
	if (!c->body) {
		c->err = -ENOMEM;
		return;
	}
	evbuffer_remove(in, c->body, n);
	c->body[n] = 0;
	c->blen = n;
}

int top_http_get(const struct top_url *u, int timeout_s, char **body, size_t *blen,
		 char *why, size_t len)
{
	struct event_base *base = event_base_new();
	struct evhttp_connection *conn = NULL;
	struct evhttp_request *req;
	struct get_ctx c = {};
	char hostport[300];

	*body = NULL;
	*blen = 0;
	if (!base) {
		top_why(why, len, "libevent: cannot create an event base");
		return -ENOMEM;
	}
	conn = evhttp_connection_base_new(base, NULL, u->host, (unsigned short)u->port);
	req = conn ? evhttp_request_new(on_done, &c) : NULL;
	if (!req) {
		if (conn)
			evhttp_connection_free(conn);
		event_base_free(base);
		top_why(why, len, "libevent: cannot set up a request to %s", u->host);
		return -ENOMEM;
	}
	evhttp_connection_set_timeout(conn, timeout_s);
	evhttp_connection_set_retries(conn, 0);
	snprintf(hostport, sizeof(hostport), strchr(u->host, ':') ? "[%s]:%d" : "%s:%d",
		 u->host, u->port);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", hostport);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Accept", "application/json");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
	/* the request is owned (and freed) by the connection from here */
	if (evhttp_make_request(conn, req, EVHTTP_REQ_GET, u->path)) {
		c.err = -EIO;
	} else {
		event_base_dispatch(base);
	}
	evhttp_connection_free(conn);
	event_base_free(base);

	if (c.err && !c.body) {
		top_why(why, len, "no answer from http://%s%s (is kvmcmod running there?)",
		     hostport, u->path);
		return c.err;
	}
	if (c.status != 200) {
		top_why(why, len, "http://%s%s: HTTP %d %s", hostport, u->path, c.status, c.reason);
		free(c.body);
		return -EPROTO;
	}
	*body = c.body;
	*blen = c.blen;
	return 0;
}

/* ---- a kvmcmod on this host ---------------------------------------------------- */

/* its listen address from its argv (--web.listen-address), and whether
 * --web.config.file puts TLS or basic authentication in front of it */
static void listen_url(pid_t pid, char *url, size_t len, bool *secured)
{
	char path[64], argv[4096], *a, *end, *addr = NULL;
	ssize_t n;
	FILE *f;

	snprintf(url, len, "http://127.0.0.1:%d", KVMCMOD_DEFAULT_PORT);
	*secured = false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	n = (ssize_t)fread(argv, 1, sizeof(argv) - 1, f);
	fclose(f);
	if (n <= 0)
		return;
	argv[n] = 0;
	end = argv + n;
	for (a = argv; a < end; a += strlen(a) + 1) {
		static const char opt[] = "--web.listen-address";
		size_t l = sizeof(opt) - 1;

		if (!strncmp(a, opt, l) && a[l] == '=')
			addr = a + l + 1;
		else if (!strcmp(a, opt) && a + l + 1 < end)
			addr = a + l + 1;
		if (!strncmp(a, "--web.config.file", 17) && (!a[17] || a[17] == '='))
			*secured = true;
	}
	if (!addr || !*addr)
		return;
	/* ":10131", "0.0.0.0:10131", "[::]:10131": this host reaches it on loopback */
	if (addr[0] == ':')
		snprintf(url, len, "http://127.0.0.1%s", addr);
	else if (!strncmp(addr, "0.0.0.0:", 8))
		snprintf(url, len, "http://127.0.0.1%s", addr + 7);
	else if (!strncmp(addr, "[::]:", 5))
		snprintf(url, len, "http://[::1]%s", addr + 4);
	else
		snprintf(url, len, "http://%s", addr);
}

pid_t top_find_kvmcmod(char *url, size_t len, bool *secured)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, "kvmcmod\n"))
			found = (pid_t)atoi(e->d_name);
		fclose(f);
	}
	closedir(d);
	*secured = false;
	if (found)
		listen_url(found, url, len, secured);
	return found;
}
