// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * source.c - where samples come from: the probes, loaded through libkvmcmo
 * (kvmcmo_open, kvmcmo_snapshot_read), or a running kvmcmod's JSON API
 * (--remote URL), which counts without a second set of probes.
 *
 * A kvmcmod polls the kernel at its own interval; a document that reports
 * the same poll count ("daemon": {"polls"}) as the previous one holds the
 * same data, so it keeps the previous one's time: an interval without a
 * poll shows no activity instead of a rate computed over the wrong time.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "top.h"

#define HTTP_TIMEOUT_S 5

struct top_source {
	struct kvmcmo *k;               /* local */
	bool remote;
	struct top_url url;
	char name[640];
	bool have_gen;
	__u64 gen, gen_taken_ns;        /* the kvmcmod poll count last seen, and when */
};

/* "fentry", "kprobe" or "fentry+kprobe": how the probes were attached */
static const char *attach_summary(const struct kvmcmo_plan *p)
{
	bool f = false, k = false;

	for (int i = 0; p && i < p->nrows; i++) {
		f |= p->rows[i].mode == KVMCMO_MODE_FENTRY;
		k |= p->rows[i].mode == KVMCMO_MODE_KPROBE;
	}
	return f && k ? "fentry+kprobe" : f ? "fentry" : "kprobe";
}

/* the reason on stderr, or into why[] */
__attribute__((format(printf, 3, 4)))
static void say(char *why, size_t len, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (why)
		snprintf(why, len, "%s", buf);
	else
		kvmcmo_err("%s", buf);
}

int top_source_open(struct top_source **out, const char *url, enum kvmcmo_mode mode,
		    char *why, size_t len)
{
	struct top_source *s = calloc(1, sizeof(*s));
	struct top_sample probe;
	char buf[512];
	int err;

	*out = NULL;
	if (!s) {
		say(why, len, "out of memory");
		return KVMCMO_EXIT_FAIL;
	}
	if (url) {
		s->remote = true;
		if (top_url_parse(&s->url, url, buf, sizeof(buf))) {
			if (why)
				snprintf(why, len, "%s", buf);
			else
				kvmcmo_usage_err("%s", buf);
			free(s);
			return KVMCMO_EXIT_USAGE;
		}
		snprintf(s->name, sizeof(s->name), "http://%s%s%s:%d%s",
			 strchr(s->url.host, ':') ? "[" : "", s->url.host,
			 strchr(s->url.host, ':') ? "]" : "", s->url.port, s->url.path);
		/* the first read says at once whether anything answers there */
		err = top_source_read(s, &probe, buf, sizeof(buf));
		if (err) {
			say(why, len, "%s", buf);
			free(s);
			return KVMCMO_EXIT_FAIL;
		}
		top_sample_free(&probe);
		s->have_gen = false;
	} else {
		struct kvmcmo_opts o = { .mode = mode };

		err = kvmcmo_open(&s->k, &o);
		if (err) {
			free(s);
			return err;
		}
		snprintf(s->name, sizeof(s->name), "local probes (%s)",
			 attach_summary(kvmcmo_get_plan(s->k)));
	}
	*out = s;
	return 0;
}

static int read_remote(struct top_source *s, struct top_sample *out, char *why, size_t len)
{
	json_t *doc, *polls;
	json_error_t je;
	size_t blen;
	char *body;
	__u64 t;
	int err;

	err = top_http_get(&s->url, HTTP_TIMEOUT_S, &body, &blen, why, len);
	if (err)
		return err;
	t = top_now_ns();
	doc = json_loadb(body, blen, 0, &je);
	free(body);
	if (!doc) {
		snprintf(why, len, "%.200s: not JSON (line %d: %.80s)", s->name, je.line, je.text);
		return -EPROTO;
	}
	err = top_sample_from_json(out, doc, why, len);
	polls = json_object_get(json_object_get(doc, "daemon"), "polls");
	if (!err && json_is_integer(polls)) {
		__u64 gen = (__u64)json_integer_value(polls);

		if (!s->have_gen || gen != s->gen) {
			s->gen = gen;
			s->gen_taken_ns = t;
			s->have_gen = true;
		}
		t = s->gen_taken_ns;
	}
	json_decref(doc);
	if (err == -EINVAL) {
		char m[512];

		snprintf(m, sizeof(m), "%.200s: %.300s", s->name, why);
		snprintf(why, len, "%s", m);
		return -EPROTO;
	}
	if (!err)
		out->taken_ns = t;
	return err;
}

int top_source_read(struct top_source *s, struct top_sample *out, char *why, size_t len)
{
	char buf[512];
	int err;

	memset(out, 0, sizeof(*out));
	if (s->remote) {
		err = read_remote(s, out, buf, sizeof(buf));
	} else {
		struct kvmcmo_snapshot snap;

		err = kvmcmo_snapshot_read(s->k, &snap);
		if (!err) {
			err = top_sample_from_snapshot(out, &snap);
			kvmcmo_snapshot_free(&snap);
		}
		snprintf(buf, sizeof(buf), "failed to read the counters: %s", strerror(-err));
	}
	if (err) {
		if (why)
			snprintf(why, len, "%s", buf);
		else
			kvmcmo_err("%s", buf);
	}
	return err;
}

const char *top_source_name(const struct top_source *s)
{
	return s->name;
}

void top_source_close(struct top_source *s)
{
	if (!s)
		return;
	kvmcmo_close(s->k);
	free(s);
}
