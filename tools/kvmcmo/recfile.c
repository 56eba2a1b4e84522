// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * recfile.c - read and write kvmcmo recordings (recfile.h,
 * docs/record-schema.md).
 *
 * The reader trusts nothing: every field it uses is checked for presence,
 * type, range and label, and the first problem ends the read with one
 * message that names the file and the JSON path.  It is what
 * tests/fuzz/fuzz_recfile.c runs.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recfile.h"

/* ---- reading: context and messages ----------------------------------------- */

struct rd {
	const char *name;
	char path[512];
	size_t plen;
	char *err;
	size_t errlen;
};

/* a value from the file, fit for a one-line message */
static const char *shown(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; s && *s && o + 4 < len; s++)
		buf[o++] = isprint((unsigned char)*s) ? *s : '?';
	if (s && *s && o + 4 >= len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = 0;
	return buf;
}

__attribute__((format(printf, 2, 3)))
static int fail(struct rd *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->err, r->errlen, "%s: at %s: %s", r->name,
		 r->plen ? r->path : "the top level", msg);
	return -EINVAL;
}

static size_t push_key(struct rd *r, const char *key)
{
	size_t old = r->plen;
	char k[64];
	int n;

	n = snprintf(r->path + r->plen, sizeof(r->path) - r->plen, "%s%s",
		     r->plen ? "." : "", shown(key, k, sizeof(k)));
	if (n > 0)
		r->plen += (size_t)n < sizeof(r->path) - r->plen ? (size_t)n
								 : sizeof(r->path) - r->plen - 1;
	return old;
}

static size_t push_idx(struct rd *r, size_t i)
{
	size_t old = r->plen;
	int n = snprintf(r->path + r->plen, sizeof(r->path) - r->plen, "[%zu]", i);

	if (n > 0)
		r->plen += (size_t)n < sizeof(r->path) - r->plen ? (size_t)n
								 : sizeof(r->path) - r->plen - 1;
	return old;
}

static void pop(struct rd *r, size_t old)
{
	r->plen = old;
	r->path[old] = 0;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

/* ---- reading: typed fields ---------------------------------------------------- */

/* the member, or NULL (with the message) if required and missing/null */
static json_t *member(struct rd *r, json_t *o, const char *key, bool required, int *err)
{
	json_t *v = json_object_get(o, key);

	if ((!v || json_is_null(v)) && required) {
		*err = fail(r, "\"%s\" is missing", key);
		return NULL;
	}
	return json_is_null(v) ? NULL : v;
}

static int want_type(struct rd *r, const char *key, json_t *v, json_type t, const char *what)
{
	size_t old;
	int err;

	if (json_typeof(v) == t)
		return 0;
	old = push_key(r, key);
	err = fail(r, "must be %s, not %s", what, type_name(v));
	pop(r, old);
	return err;
}

static int get_u64(struct rd *r, json_t *o, const char *key, bool required, __u64 *out)
{
	int err = 0;
	json_t *v = member(r, o, key, required, &err);
	size_t old;

	if (!v)
		return err;
	if (!json_is_integer(v))
		return want_type(r, key, v, JSON_INTEGER, "a non-negative integer");
	if (json_integer_value(v) < 0) {
		old = push_key(r, key);
		err = fail(r, "must not be negative (%lld)", (long long)json_integer_value(v));
		pop(r, old);
		return err;
	}
	*out = (__u64)json_integer_value(v);
	return 0;
}

static int get_int(struct rd *r, json_t *o, const char *key, bool required, long long *out)
{
	int err = 0;
	json_t *v = member(r, o, key, required, &err);

	if (!v)
		return err;
	if (!json_is_integer(v))
		return want_type(r, key, v, JSON_INTEGER, "an integer");
	*out = json_integer_value(v);
	return 0;
}

static int get_str(struct rd *r, json_t *o, const char *key, bool required, const char **out)
{
	int err = 0;
	json_t *v = member(r, o, key, required, &err);

	if (!v)
		return err;
	if (!json_is_string(v))
		return want_type(r, key, v, JSON_STRING, "a string");
	*out = json_string_value(v);
	return 0;
}

static int get_typed(struct rd *r, json_t *o, const char *key, bool required, json_type t,
		     json_t **out)
{
	int err = 0;
	json_t *v = member(r, o, key, required, &err);

	*out = NULL;
	if (!v)
		return err;
	err = want_type(r, key, v, t, t == JSON_ARRAY ? "an array" : "an object");
	if (!err)
		*out = v;
	return err;
}

static int get_label(struct rd *r, json_t *o, const char *key, const char *const *labels,
		     int n, int *out)
{
	const char *s = NULL;
	char buf[48];
	size_t old;
	int err = get_str(r, o, key, true, &s);

	if (err)
		return err;
	*out = kvmcmo_label_index(labels, n, s);
	if (*out >= 0)
		return 0;
	old = push_key(r, key);
	err = fail(r, "unknown %s '%s'", key, shown(s, buf, sizeof(buf)));
	pop(r, old);
	return err;
}

static __u64 sat_add(__u64 a, __u64 b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* HIST: {"count", "sum", "buckets": [{"le": 2^(i+1), "count"}...]} */
static int read_hist(struct rd *r, json_t *h, struct rec_hist *out)
{
	json_t *buckets, *b;
	int err, last = -1;
	size_t i, old;

	if (!json_is_object(h))
		return fail(r, "must be a histogram object, not %s", type_name(h));
	memset(&out->h, 0, sizeof(out->h));
	err = get_u64(r, h, "count", true, &out->count);
	if (!err)
		err = get_u64(r, h, "sum", false, &out->h.sum_ns);
	if (!err)
		err = get_typed(r, h, "buckets", true, JSON_ARRAY, &buckets);
	if (err)
		return err;
	old = push_key(r, "buckets");
	json_array_foreach(buckets, i, b) {
		size_t o2 = push_idx(r, i);
		__u64 le = 0, c = 0;
		int slot;

		if (!json_is_object(b))
			err = fail(r, "must be a bucket object, not %s", type_name(b));
		if (!err)
			err = get_u64(r, b, "le", true, &le);
		if (!err)
			err = get_u64(r, b, "count", true, &c);
		if (err)
			return err;
		/* "le" is 2^(slot+1): a power of two from 2 to 2^40 */
		if (le < 2 || (le & (le - 1)) || le > (1ULL << KVMCMO_HIST_SLOTS))
			return fail(r, "\"le\" must be a power of two from 2 to 2^%d, not %llu",
				    KVMCMO_HIST_SLOTS, (unsigned long long)le);
		slot = __builtin_ctzll(le) - 1;
		if (slot <= last)
			return fail(r, "buckets must be in increasing \"le\" order");
		last = slot;
		out->h.slots[slot] = c;
		out->h.count = sat_add(out->h.count, c);
		pop(r, o2);
	}
	pop(r, old);
	return 0;
}

static int cmp_count(const void *a, const void *b)
{
	const struct rec_count *x = a, *y = b;

	return x->cls - y->cls;
}

static int cmp_hist_row(const void *a, const void *b)
{
	const struct rec_hist *x = a, *y = b;

	if (x->a != y->a)
		return x->a - y->a;
	return x->b - y->b;
}

static int read_aborts(struct rd *r, json_t *arr, struct rec_vm *vm)
{
	json_t *row;
	size_t i, old = push_key(r, "aborts");
	int err = 0;

	vm->aborts = calloc(json_array_size(arr) + 1, sizeof(*vm->aborts));
	if (!vm->aborts)
		return fail(r, "out of memory");
	json_array_foreach(arr, i, row) {
		size_t o2 = push_idx(r, i);
		int k = 0, f = 0, m = 0, o = 0;
		__u64 c = 0;

		if (!json_is_object(row))
			err = fail(r, "must be an abort row object, not %s", type_name(row));
		if (!err)
			err = get_label(r, row, "kind", kvmcmo_kind_label, KVMCMO_KIND__COUNT, &k);
		if (!err)
			err = get_label(r, row, "fault", kvmcmo_fault_label, KVMCMO_FAULT__COUNT, &f);
		if (!err)
			err = get_label(r, row, "memslot", kvmcmo_memslot_label,
					KVMCMO_MEMSLOT__COUNT, &m);
		if (!err)
			err = get_label(r, row, "outcome", kvmcmo_outcome_label,
					KVMCMO_OUTCOME__COUNT, &o);
		if (!err)
			err = get_u64(r, row, "count", true, &c);
		if (err)
			return err;
		vm->aborts[vm->naborts].cls = rec_class(k, f, m, o);
		vm->aborts[vm->naborts++].count = c;
		pop(r, o2);
	}
	qsort(vm->aborts, vm->naborts, sizeof(*vm->aborts), cmp_count);
	for (i = 1; i < vm->naborts; i++)
		if (vm->aborts[i].cls == vm->aborts[i - 1].cls)
			return fail(r, "the same kind, fault, memslot and outcome appear twice");
	pop(r, old);
	return 0;
}

static int read_latency(struct rd *r, json_t *obj, struct rec_vm *vm)
{
	size_t old = push_key(r, "latency_ns");
	const char *key;
	json_t *h;
	int err;

	vm->lat = calloc(json_object_size(obj) + 1, sizeof(*vm->lat));
	if (!vm->lat)
		return fail(r, "out of memory");
	json_object_foreach(obj, key, h) {
		size_t o2 = push_key(r, key);
		int o = kvmcmo_label_index(kvmcmo_outcome_label, KVMCMO_OUTCOME__COUNT, key);
		char buf[48];

		if (o < 0)
			return fail(r, "unknown outcome '%s'", shown(key, buf, sizeof(buf)));
		vm->lat[vm->nlat].a = o;
		err = read_hist(r, h, &vm->lat[vm->nlat]);
		if (err)
			return err;
		vm->nlat++;
		pop(r, o2);
	}
	/* object keys are unique (JSON_REJECT_DUPLICATES), so outcomes are too */
	qsort(vm->lat, vm->nlat, sizeof(*vm->lat), cmp_hist_row);
	pop(r, old);
	return 0;
}

static int read_gaps(struct rd *r, json_t *arr, struct rec_vm *vm)
{
	size_t i, old = push_key(r, "double_faults");
	json_t *row, *h;
	int err = 0;

	vm->gaps = calloc(json_array_size(arr) + 1, sizeof(*vm->gaps));
	if (!vm->gaps)
		return fail(r, "out of memory");
	json_array_foreach(arr, i, row) {
		size_t o2 = push_idx(r, i), o3;
		struct rec_hist *g = &vm->gaps[vm->ngaps];
		__u64 c = 0;

		if (!json_is_object(row))
			err = fail(r, "must be a double-fault object, not %s", type_name(row));
		if (!err)
			err = get_label(r, row, "kind", kvmcmo_kind_label, KVMCMO_KIND__COUNT, &g->a);
		if (!err)
			err = get_label(r, row, "memslot", kvmcmo_memslot_label,
					KVMCMO_MEMSLOT__COUNT, &g->b);
		if (!err)
			err = get_u64(r, row, "count", true, &c);
		if (!err)
			err = get_typed(r, row, "gap_ns", true, JSON_OBJECT, &h);
		if (err)
			return err;
		o3 = push_key(r, "gap_ns");
		err = read_hist(r, h, g);
		if (err)
			return err;
		pop(r, o3);
		/* the row's count is the number of double faults */
		g->count = c;
		vm->ngaps++;
		pop(r, o2);
	}
	qsort(vm->gaps, vm->ngaps, sizeof(*vm->gaps), cmp_hist_row);
	for (i = 1; i < vm->ngaps; i++)
		if (!cmp_hist_row(&vm->gaps[i], &vm->gaps[i - 1]))
			return fail(r, "the same kind and memslot appear twice");
	pop(r, old);
	return 0;
}

static int read_rate(struct rd *r, json_t *rate, struct rec_vm *vm)
{
	size_t i, old = push_key(r, "rate");
	__u64 interval = 0;
	json_t *arr, *v;
	int err;

	err = get_u64(r, rate, "interval_ns", true, &interval);
	if (!err)
		err = get_typed(r, rate, "aborts", true, JSON_ARRAY, &arr);
	if (err)
		return err;
	if (!interval)
		return fail(r, "\"interval_ns\" must be positive");
	json_array_foreach(arr, i, v) {
		double ps;

		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			size_t o2 = push_key(r, "aborts");

			push_idx(r, i);
			err = fail(r, "must be a non-negative integer, not %s", type_name(v));
			pop(r, o2);
			return err;
		}
		ps = (double)json_integer_value(v) * 1e9 / (double)interval;
		if (ps > vm->peak_per_s)
			vm->peak_per_s = ps;
	}
	pop(r, old);
	return 0;
}

static int read_vm(struct rd *r, json_t *o, struct rec_vm *vm)
{
	json_t *aborts, *dabt, *dfaults, *lat, *rate;
	int err;

	if (!json_is_object(o))
		return fail(r, "must be a VM object, not %s", type_name(o));
	err = get_str(r, o, "key", true, &vm->key);
	if (!err && !*vm->key)
		err = fail(r, "\"key\" must not be empty");
	if (!err)
		err = get_str(r, o, "name", true, &vm->name);
	if (!err)
		err = get_int(r, o, "pid", false, &vm->pid);
	if (!err)
		err = get_int(r, o, "fd", false, &vm->fd);
	if (!err)
		err = get_typed(r, o, "aborts", true, JSON_ARRAY, &aborts);
	if (!err)
		err = get_typed(r, o, "dabt_injections", true, JSON_OBJECT, &dabt);
	if (!err)
		err = get_typed(r, o, "double_faults", true, JSON_ARRAY, &dfaults);
	if (!err)
		err = get_typed(r, o, "latency_ns", true, JSON_OBJECT, &lat);
	if (!err)
		err = get_typed(r, o, "rate", false, JSON_OBJECT, &rate);
	if (err)
		return err;
	err = read_aborts(r, aborts, vm);
	if (!err) {
		size_t old = push_key(r, "dabt_injections");

		for (int i = 0; !err && i < KVMCMO_DABT__COUNT; i++)
			err = get_u64(r, dabt, kvmcmo_dabt_label[i], true, &vm->dabt[i]);
		if (!err)
			pop(r, old);
	}
	if (!err)
		err = read_gaps(r, dfaults, vm);
	if (!err)
		err = read_latency(r, lat, vm);
	if (!err && rate)
		err = read_rate(r, rate, vm);
	return err;
}

static int cmp_vm_key(const void *a, const void *b)
{
	return strcmp(((const struct rec_vm *)a)->key, ((const struct rec_vm *)b)->key);
}

static int read_sample(struct rd *r, json_t *o, struct rec_sample *s)
{
	json_t *vms, *stats, *v;
	size_t i, old;
	int err;

	if (!json_is_object(o))
		return fail(r, "must be a sample object, not %s", type_name(o));
	s->exit_status = -1;
	err = get_u64(r, o, "duration_ns", true, &s->duration_ns);
	if (!err && !s->duration_ns)
		err = fail(r, "\"duration_ns\" must be positive");
	if (!err)
		err = get_int(r, o, "exit_status", false, &s->exit_status);
	if (!err)
		err = get_str(r, o, "start", false, &s->start);
	if (!err)
		err = get_typed(r, o, "vms", true, JSON_ARRAY, &vms);
	if (!err)
		err = get_typed(r, o, "stats", false, JSON_OBJECT, &stats);
	if (err)
		return err;
	if (stats) {
		old = push_key(r, "stats");
		for (int k = 0; !err && k < KVMCMO_STAT__COUNT; k++)
			err = get_u64(r, stats, kvmcmo_stat_label[k], false, &s->stats[k]);
		if (err)
			return err;
		pop(r, old);
	}
	s->vms = calloc(json_array_size(vms) + 1, sizeof(*s->vms));
	if (!s->vms)
		return fail(r, "out of memory");
	old = push_key(r, "vms");
	json_array_foreach(vms, i, v) {
		size_t o2 = push_idx(r, i);

		err = read_vm(r, v, &s->vms[s->nvms++]);
		if (err)
			return err;
		pop(r, o2);
	}
	qsort(s->vms, s->nvms, sizeof(*s->vms), cmp_vm_key);
	for (i = 1; i < s->nvms; i++)
		if (!strcmp(s->vms[i].key, s->vms[i - 1].key)) {
			char buf[64];

			return fail(r, "two VMs have the key '%s'",
				    shown(s->vms[i].key, buf, sizeof(buf)));
		}
	pop(r, old);
	return 0;
}

/* "fentry", "kprobe" or "fentry+kprobe": the modes the probes used */
static int read_attach(struct rd *r, json_t *root, struct rec_file *f)
{
	json_t *att, *probes, *p;
	bool fentry = false, kprobe = false;
	size_t i, old;
	int err;

	snprintf(f->attach, sizeof(f->attach), "unknown");
	err = get_typed(r, root, "attach", false, JSON_OBJECT, &att);
	if (err || !att)
		return err;
	old = push_key(r, "attach");
	err = get_typed(r, att, "probes", false, JSON_ARRAY, &probes);
	if (err)
		return err;
	json_array_foreach(probes, i, p) {
		const char *mode = NULL;
		size_t o2 = push_idx(r, i);

		if (!json_is_object(p))
			return fail(r, "must be a probe object, not %s", type_name(p));
		err = get_str(r, p, "mode", true, &mode);
		if (err)
			return err;
		fentry |= !strcmp(mode, "fentry");
		kprobe |= !strcmp(mode, "kprobe");
		pop(r, o2);
	}
	pop(r, old);
	if (fentry || kprobe)
		snprintf(f->attach, sizeof(f->attach), "%s%s%s", fentry ? "fentry" : "",
			 fentry && kprobe ? "+" : "", kprobe ? "kprobe" : "");
	return 0;
}

static int read_root(struct rd *r, json_t *root, struct rec_file *f)
{
	const char *format = NULL;
	json_t *tool, *host, *target, *samples, *v;
	char buf[48];
	size_t i, old;
	int err;

	if (!json_is_object(root))
		return fail(r, "a recording is a JSON object, not %s", type_name(root));
	format = json_string_value(json_object_get(root, "format"));
	if (!format || strcmp(format, REC_FORMAT)) {
		if (json_object_get(root, "vms"))
			return fail(r, "not a kvmcmo recording (this looks like `kvmcmo stat "
				    "--json` output; record with `kvmcmo record`)");
		return fail(r, "not a kvmcmo recording (no \"format\": \"%s\")", REC_FORMAT);
	}
	err = get_int(r, root, "schema", true, &f->schema);
	if (err)
		return err;
	if (f->schema > REC_SCHEMA)
		return fail(r, "schema %lld is newer than this kvmcmo %s reads (%d to %d): "
			    "use a newer kvmcmo", f->schema, KVMCMO_VERSION, REC_SCHEMA_MIN,
			    REC_SCHEMA);
	if (f->schema < REC_SCHEMA_MIN)
		return fail(r, "schema %lld is not one this kvmcmo reads (%d to %d)",
			    f->schema, REC_SCHEMA_MIN, REC_SCHEMA);
	err = get_typed(r, root, "tool", true, JSON_OBJECT, &tool);
	if (!err) {
		old = push_key(r, "tool");
		err = get_str(r, tool, "version", true, &f->tool_version);
		if (!err)
			pop(r, old);
	}
	if (!err)
		err = get_typed(r, root, "host", true, JSON_OBJECT, &host);
	if (!err) {
		old = push_key(r, "host");
		err = get_str(r, host, "kernel_release", true, &f->kernel_release);
		if (!err)
			err = get_str(r, host, "hostname", true, &f->hostname);
		if (!err)
			pop(r, old);
	}
	if (!err)
		err = get_typed(r, root, "target", true, JSON_OBJECT, &target);
	if (!err) {
		old = push_key(r, "target");
		err = get_str(r, target, "mode", true, &f->mode);
		if (!err && strcmp(f->mode, "command") && strcmp(f->mode, "duration")) {
			push_key(r, "mode");
			err = fail(r, "must be \"command\" or \"duration\", not '%s'",
				   shown(f->mode, buf, sizeof(buf)));
		}
		if (!err)
			pop(r, old);
	}
	if (!err)
		err = get_str(r, root, "start", false, &f->start);
	if (!err)
		err = read_attach(r, root, f);
	if (!err)
		err = get_typed(r, root, "samples", true, JSON_ARRAY, &samples);
	if (err)
		return err;
	if (!json_array_size(samples))
		return fail(r, "\"samples\" is empty: nothing was recorded");
	f->samples = calloc(json_array_size(samples), sizeof(*f->samples));
	if (!f->samples)
		return fail(r, "out of memory");
	old = push_key(r, "samples");
	json_array_foreach(samples, i, v) {
		size_t o2 = push_idx(r, i);

		err = read_sample(r, v, &f->samples[f->nsamples++]);
		if (err)
			return err;
		pop(r, o2);
	}
	pop(r, old);
	return 0;
}

void rec_free(struct rec_file *f)
{
	for (size_t i = 0; f->samples && i < f->nsamples; i++) {
		struct rec_sample *s = &f->samples[i];

		for (size_t j = 0; s->vms && j < s->nvms; j++) {
			free(s->vms[j].aborts);
			free(s->vms[j].lat);
			free(s->vms[j].gaps);
		}
		free(s->vms);
	}
	free(f->samples);
	free(f->path);
	json_decref(f->root);
	memset(f, 0, sizeof(*f));
}

int rec_parse(const char *buf, size_t len, const char *name, struct rec_file *f,
	      char *err, size_t errlen)
{
	struct rd r = { .name = name, .err = err, .errlen = errlen };
	json_error_t je;
	int ret;

	memset(f, 0, sizeof(*f));
	f->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!f->root) {
		char text[sizeof(je.text)];

		/* jansson: line and column are 1-based, position is in bytes; its
		 * text quotes the file ("near '...'"), which may hold any byte */
		snprintf(err, errlen, "%s: line %d, column %d (byte %d): %s", name,
			 je.line, je.column, je.position, shown(je.text, text, sizeof(text)));
		return -EINVAL;
	}
	f->path = strdup(name);
	ret = f->path ? read_root(&r, f->root, f) : -ENOMEM;
	if (ret == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", name);
	if (ret)
		rec_free(f);
	return ret;
}

int rec_load(const char *path, struct rec_file *f, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t cap = 0, len = 0;
	FILE *fp = fopen(path, "r");
	int ret;

	memset(f, 0, sizeof(*f));
	if (!fp) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	for (;;) {
		size_t n;

		if (len + 65536 > cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 1 << 20);

			if (!nb) {
				free(buf);
				fclose(fp);
				snprintf(err, errlen, "%s: out of memory", path);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		free(buf);
		fclose(fp);
		return -EIO;
	}
	fclose(fp);
	ret = rec_parse(buf, len, path, f, err, errlen);
	free(buf);
	return ret;
}

const struct rec_vm *rec_sample_vm(const struct rec_sample *s, const char *key)
{
	size_t lo = 0, hi = s->nvms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->vms[mid].key, key);

		if (!c)
			return &s->vms[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- writing --------------------------------------------------------------------- */

struct key_ctx {
	const struct kvmcmo_vm *vms;
	const char *const *names;
};

static int cmp_vm_order(const void *a, const void *b, void *arg)
{
	const struct key_ctx *c = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct kvmcmo_vm *x = &c->vms[i], *y = &c->vms[j];
	int r = strcmp(c->names[i], c->names[j]);

	if (r)
		return r;
	if (x->fd != y->fd)
		return x->fd < y->fd ? -1 : 1;
	if (x->first_ns != y->first_ns)
		return x->first_ns < y->first_ns ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int cmp_str_idx(const void *a, const void *b, void *keys)
{
	char **k = keys;

	return strcmp(k[*(const size_t *)a], k[*(const size_t *)b]);
}

void rec_keys_free(char **keys, size_t n)
{
	for (size_t i = 0; keys && i < n; i++)
		free(keys[i]);
	free(keys);
}

int rec_vm_keys(const struct kvmcmo_vm *vms, const char *const *names, size_t n,
		char ***out)
{
	struct key_ctx ctx = { vms, names };
	size_t *ord = malloc((n + 1) * sizeof(*ord)), i, j;
	char **keys = calloc(n + 1, sizeof(*keys));
	bool dup = true;

	*out = NULL;
	if (!ord || !keys)
		goto nomem;
	for (i = 0; i < n; i++)
		ord[i] = i;
	qsort_r(ord, n, sizeof(*ord), cmp_vm_order, &ctx);
	for (i = 0; i < n; i = j) {
		const char *name = *names[ord[i]] ? names[ord[i]] : "(unnamed)";

		for (j = i + 1; j < n && !strcmp(names[ord[j]], names[ord[i]]); j++)
			;
		for (size_t k = i; k < j; k++) {
			int r = j - i > 1 ? asprintf(&keys[ord[k]], "%s#%zu", name, k - i + 1)
					  : asprintf(&keys[ord[k]], "%s", name);

			if (r < 0) {
				keys[ord[k]] = NULL;
				goto nomem;
			}
		}
	}
	/* a name that already looks like "x#2" could meet a generated key:
	 * make every key unique by its VM's index until none repeats */
	while (dup) {
		dup = false;
		for (i = 0; i < n; i++)
			ord[i] = i;
		qsort_r(ord, n, sizeof(*ord), cmp_str_idx, keys);
		for (i = 1; i < n; i++) {
			char *k;

			if (strcmp(keys[ord[i]], keys[ord[i - 1]]))
				continue;
			if (asprintf(&k, "%s~%zu", keys[ord[i]], ord[i]) < 0)
				goto nomem;
			free(keys[ord[i]]);
			keys[ord[i]] = k;
			dup = true;
		}
	}
	free(ord);
	*out = keys;
	return 0;
nomem:
	free(ord);
	rec_keys_free(keys, n);
	return -ENOMEM;
}

void rec_iso_time(__u64 unix_ns, char *buf, size_t len)
{
	time_t t = (time_t)(unix_ns / 1000000000ULL);
	struct tm tm;
	char s[32];

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03lluZ", s, (unsigned long long)(unix_ns / 1000000ULL % 1000));
}

json_t *rec_sample_json(const struct kvmcmo_snapshot *s, const struct rec_rate *rates,
			const struct rec_sample_info *info)
{
	json_t *snap = kvmcmo_snapshot_json(s, KVMCMO_JSON_HIST), *vms, *v, *o = NULL;
	const char **names = NULL;
	char **keys = NULL, start[40];
	size_t i, n;
	int err = 0;

	if (!snap)
		return NULL;
	vms = json_object_get(snap, "vms");
	/* one element per VM, in s->vms order (user/json.c) */
	n = json_array_size(vms);
	if (n != s->nvms)
		goto out;
	names = calloc(n + 1, sizeof(*names));
	if (!names)
		goto out;
	json_array_foreach(vms, i, v) {
		names[i] = json_string_value(json_object_get(v, "name"));
		if (!names[i])
			names[i] = "";
	}
	if (rec_vm_keys(s->vms, names, n, &keys))
		goto out;
	json_array_foreach(vms, i, v) {
		err |= json_object_set_new(v, "key", json_string(keys[i]));
		if (rates) {
			json_t *a = json_array();

			for (size_t t = 0; a && t < rates[i].n; t++)
				err |= json_array_append_new(a, json_integer(
					rates[i].per_interval[t] > INT64_MAX ? INT64_MAX
					: (json_int_t)rates[i].per_interval[t]));
			err |= json_object_set_new(v, "rate", json_pack("{s:I, s:o*}",
					"interval_ns", (json_int_t)info->interval_ns, "aborts", a));
		}
	}
	rec_iso_time(info->start_unix_ns, start, sizeof(start));
	o = json_pack("{s:s, s:I, s:I, s:O, s:O, s:b}",
		      "start", start,
		      "start_unix_ns", (json_int_t)info->start_unix_ns,
		      "duration_ns", (json_int_t)info->duration_ns,
		      "vms", vms,
		      "stats", json_object_get(snap, "stats"),
		      "interrupted", info->interrupted);
	if (o)
		err |= json_object_set_new(o, "exit_status", info->exit_status < 0 ? json_null()
					   : json_integer(info->exit_status));
out:
	rec_keys_free(keys, n);
	free(names);
	json_decref(snap);
	if (err || !o) {
		json_decref(o);
		return NULL;
	}
	return o;
}
