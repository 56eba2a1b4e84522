// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_top_json.c - kvmcmotop's remote source reads back the document
 * kvmcmod serves (tools/kvmcmotop/sample_json.c):
 *
 *  - round trip: a snapshot rendered by the library's own renderer
 *    (kvmcmo_snapshot_json with histograms, vCPUs and regions: what
 *    kvmcmod's /api/v1/snapshot is made of) reads back into the very
 *    sample the local path makes from that snapshot;
 *  - a document `kvmcmo stat --json` really printed in the emulated arm64
 *    host (6.12, the workload's ro_read_write, none_ldp_nisv, multi and
 *    dirty_read_write cases; golden/top-stat-6.12.json), checked against
 *    sums the test makes from the document itself;
 *  - documents that are not snapshots are refused with a reason.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "test_top.h"

/* a document `kvmcmo stat --json` printed in the guest; the tests run from
 * the top of the tree (tests/run-unit.sh) */
#define GOLDEN_STAT "tests/unit/golden/top-stat-6.12.json"

static void same_vm(const struct top_vmstat *a, const struct top_vmstat *b)
{
	ASSERT_EQ(a->id, b->id, "id");
	ASSERT_EQ(a->pid, b->pid, "pid of %s", a->name);
	ASSERT_EQ(a->fd, b->fd, "fd of %s", a->name);
	ASSERT_EQ(a->alive, b->alive, "alive of %s", a->name);
	ASSERT_STREQ(a->name, b->name, "name");
	ASSERT_TRUE(!memcmp(a->aborts, b->aborts, sizeof(a->aborts)), "aborts table of %s",
		    a->name);
	ASSERT_TRUE(!memcmp(a->dabt, b->dabt, sizeof(a->dabt)), "dabt of %s", a->name);
	ASSERT_TRUE(!memcmp(a->lat, b->lat, sizeof(a->lat)), "latency hists of %s", a->name);
	ASSERT_TRUE(!memcmp(a->dfault, b->dfault, sizeof(a->dfault)), "gap hists of %s", a->name);
	/* field by field: the structs have padding */
	if (ASSERT_EQ(a->nvcpus, b->nvcpus, "vcpus of %s", a->name))
		for (size_t i = 0; i < a->nvcpus; i++)
			ASSERT_TRUE(a->vcpus[i].vcpu == b->vcpus[i].vcpu &&
				    a->vcpus[i].aborts == b->vcpus[i].aborts &&
				    a->vcpus[i].cmo == b->vcpus[i].cmo, "vcpu row %zu of %s", i, a->name);
	if (ASSERT_EQ(a->nregions, b->nregions, "regions of %s", a->name))
		for (size_t i = 0; i < a->nregions; i++) {
			const struct top_region *x = &a->regions[i], *y = &b->regions[i];

			ASSERT_TRUE(x->base == y->base && x->size == y->size && x->slot == y->slot &&
				    x->memslot == y->memslot && x->kind == y->kind && x->outcome == y->outcome &&
				    x->count == y->count, "region row %zu of %s", i, a->name);
		}
}

TEST(round_trip_through_the_library_renderer)
{
	struct snap_builder b;
	struct top_sample local, remote;
	json_t *doc;
	char *txt;
	char why[128] = "";

	snap2(&b);
	/* a slot faulted as two memslot types (dirty logging toggled): json.c
	 * keeps a row per type, so does the local path */
	b.regions[b.s.nregions] = b.regions[0];
	b.regions[b.s.nregions].key.memslot = M(RW);
	b.regions[b.s.nregions++].count = 5;
	if (!ASSERT_EQ(top_sample_from_snapshot(&local, &b.s), 0, "local"))
		return;
	doc = kvmcmo_snapshot_json(&b.s, KVMCMO_JSON_HIST | KVMCMO_JSON_VCPUS |
				   KVMCMO_JSON_REGIONS);
	/* through text, as it travels */
	txt = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	doc = txt ? json_loads(txt, 0, NULL) : NULL;
	free(txt);
	if (!ASSERT_TRUE(doc != NULL, "rendered") ||
	    !ASSERT_EQ(top_sample_from_json(&remote, doc, why, sizeof(why)), 0, "parse: %s", why)) {
		json_decref(doc);
		top_sample_free(&local);
		return;
	}
	json_decref(doc);
	if (ASSERT_EQ(remote.nvms, local.nvms, "VMs"))
		for (size_t i = 0; i < local.nvms; i++)
			same_vm(&remote.vms[i], &local.vms[i]);
	ASSERT_TRUE(!memcmp(remote.stats, local.stats, sizeof(local.stats)), "stats");
	{
		const struct top_vmstat *a = top_sample_find(&remote, VM_A);
		int n = 0;

		for (size_t i = 0; a && i < a->nregions; i++)
			if (a->regions[i].base == b.regions[0].key.base &&
			    a->regions[i].kind == b.regions[0].key.kind &&
			    a->regions[i].outcome == b.regions[0].key.outcome)
				n += (a->regions[i].memslot == b.regions[0].key.memslot &&
				      a->regions[i].count == 2) ||
				     (a->regions[i].memslot == M(RW) && a->regions[i].count == 5);
		ASSERT_EQ(n, 2, "the slot's two memslot types: 2 and 5, not summed");
	}
	top_sample_free(&local);
	top_sample_free(&remote);
}

static __u64 ju(const json_t *o, const char *k)
{
	return (__u64)json_integer_value(json_object_get(o, k));
}

TEST(real_document_from_the_guest)
{
	char why[128] = "";
	struct top_view_opts o = { .sort = TOP_COL_NAME, .ascending = true,
				   .kind = KVMCMO_KIND_READ, .totals = true };
	struct top_sample s;
	struct top_frame f;
	json_error_t je;
	json_t *doc = json_load_file(GOLDEN_STAT, 0, &je), *v;
	size_t i, seen = 0;

	if (!ASSERT_TRUE(doc != NULL, "load %s: %s", GOLDEN_STAT, je.text))
		return;
	if (!ASSERT_EQ(top_sample_from_json(&s, doc, why, sizeof(why)), 0, "parse: %s", why)) {
		json_decref(doc);
		return;
	}
	ASSERT_EQ(s.nvms, json_array_size(json_object_get(doc, "vms")), "every VM");
	if (!ASSERT_EQ(top_frame_build(&f, &s, &s, NULL, &o), 0, "frame"))
		goto out;
	json_array_foreach(json_object_get(doc, "vms"), i, v) {
		__u64 aborts = 0, reads = 0, exits = 0, vcpu_aborts = 0, lat_n = 0, regions = 0;
		const struct top_row *r = NULL;
		const json_t *x, *h;
		const char *key;
		size_t j;

		for (size_t k = 0; k < f.nrows; k++)
			if (f.rows[k].id == ju(v, "id"))
				r = &f.rows[k];
		if (!ASSERT_TRUE(r != NULL, "row of VM %zu", i))
			continue;
		seen++;
		json_array_foreach(json_object_get(v, "aborts"), j, x) {
			const char *kind = json_string_value(json_object_get(x, "kind"));
			const char *out = json_string_value(json_object_get(x, "outcome"));

			aborts += ju(x, "count");
			if (!strcmp(kind, "read")) {
				reads += ju(x, "count");
				if (!strcmp(out, "nisv") || !strcmp(out, "mmio_user"))
					exits += ju(x, "count");
			}
		}
		json_array_foreach(json_object_get(v, "vcpus"), j, x)
			vcpu_aborts += ju(x, "aborts");
		json_array_foreach(json_object_get(v, "regions"), j, x)
			regions += ju(x, "count");
		json_object_foreach(json_object_get(v, "latency_ns"), key, h)
			lat_n += ju(h, "count");
		ASSERT_STREQ(r->name, json_string_value(json_object_get(v, "name")), "name");
		ASSERT_EQ(r->pid, ju(v, "pid"), "pid");
		ASSERT_EQ(r->tot.n[TOP_COL_ABORTS - TOP_C0], aborts, "%s aborts", r->name);
		ASSERT_EQ(r->tot.n[TOP_COL_FOCUS - TOP_C0], reads, "%s reads", r->name);
		ASSERT_EQ(r->tot.n[TOP_COL_EXITS - TOP_C0], exits, "%s read exits", r->name);
		ASSERT_EQ(vcpu_aborts, aborts, "%s: the document's vcpus add up", r->name);
		ASSERT_EQ(regions, aborts, "%s: so do its regions", r->name);
		ASSERT_EQ(r->tot.lat.count, lat_n, "%s handled aborts", r->name);
		ASSERT_EQ(r->vcpus, json_array_size(json_object_get(v, "vcpus")), "%s vCPUs",
			  r->name);
		/* per outcome, the quantiles from the buckets equal the document's */
		json_object_foreach(json_object_get(v, "latency_ns"), key, h) {
			int oc = kvmcmo_label_index(kvmcmo_outcome_label, TOP_NO, key);
			const struct kvmcmo_hist *hh = &top_sample_find(&s, r->id)->lat[oc];

			ASSERT_EQ(kvmcmo_hist_quantile(hh, 0.5), ju(h, "p50"), "%s %s p50", r->name, key);
			ASSERT_EQ(kvmcmo_hist_quantile(hh, 0.99), ju(h, "p99"), "%s %s p99", r->name, key);
		}
	}
	ASSERT_EQ(seen, f.nrows, "one row per VM");
	top_frame_free(&f);
out:
	top_sample_free(&s);
	json_decref(doc);
}

static int parse(const char *text, char *why, size_t len)
{
	json_t *doc = json_loads(text, 0, NULL);
	struct top_sample s;
	int err;

	if (!doc)
		return -1000;
	err = top_sample_from_json(&s, doc, why, len);
	json_decref(doc);
	if (!err)
		top_sample_free(&s);
	return err;
}

TEST(documents_that_are_not_snapshots)
{
	char why[128];

	ASSERT_EQ(parse("[1, 2]", why, sizeof(why)), -EINVAL, "an array");
	ASSERT_STREQ(why, "not a JSON object", "why");
	ASSERT_EQ(parse("{\"metrics\": []}", why, sizeof(why)), -EINVAL, "no vms");
	ASSERT_TRUE(strstr(why, "no \"vms\" array") != NULL, "why: %s", why);
	ASSERT_EQ(parse("{\"vms\": [{\"name\": \"x\"}]}", why, sizeof(why)), -EINVAL, "no pid");
	ASSERT_STREQ(why, "vms[0] is not a VM object", "why");
	/* unknown labels (a newer kvmcmod) and missing parts are not errors */
	ASSERT_EQ(parse("{\"vms\": [{\"id\": 1, \"pid\": 2, \"aborts\": [{\"kind\": \"new\", "
			"\"fault\": \"translation\", \"memslot\": \"rw\", \"outcome\": \"map_rw\", "
			"\"count\": 3}], \"latency_ns\": {\"new\": {\"count\": 1}}}]}", why,
			sizeof(why)), 0, "unknown labels skipped");
	ASSERT_EQ(parse("{\"vms\": []}", why, sizeof(why)), 0, "no VMs yet");
}

TEST(vm_identity_without_id)
{
	json_t *doc = json_loads("{\"vms\": [{\"pid\": 7, \"fd\": 12, \"name\": \"a\"}, "
				 "{\"pid\": 7, \"fd\": 13, \"name\": \"b\", \"alive\": false}]}",
				 0, NULL);
	struct top_sample s;

	if (!ASSERT_EQ(top_sample_from_json(&s, doc, NULL, 0), 0, "parse")) {
		json_decref(doc);
		return;
	}
	ASSERT_EQ(s.nvms, 2, "two VMs of one VMM");
	ASSERT_TRUE(top_sample_find(&s, 7ULL << 32 | 12) != NULL, "pid and fd make the id");
	ASSERT_EQ(top_sample_find(&s, 7ULL << 32 | 13)->alive, 0, "alive read");
	ASSERT_EQ(top_sample_find(&s, 7ULL << 32 | 12)->alive, 1, "alive by default");
	top_sample_free(&s);
	json_decref(doc);

	/* one VM twice (live, then destroyed): kept once, the destroyed entry */
	doc = json_loads("{\"vms\": [{\"id\": 5, \"pid\": 2, \"name\": \"x\"}, "
			 "{\"id\": 5, \"pid\": 2, \"name\": \"x\", \"alive\": false}]}", 0, NULL);
	if (!ASSERT_EQ(top_sample_from_json(&s, doc, NULL, 0), 0, "parse")) {
		json_decref(doc);
		return;
	}
	ASSERT_EQ(s.nvms, 1, "once");
	ASSERT_EQ(s.vms[0].alive, 0, "the destroyed entry");
	top_sample_free(&s);
	json_decref(doc);
}

TEST(url_parsing)
{
	struct top_url u;
	char why[160];

	ASSERT_EQ(top_url_parse(&u, "http://127.0.0.1:10131", why, sizeof(why)), 0, "plain");
	ASSERT_STREQ(u.host, "127.0.0.1", "host");
	ASSERT_EQ(u.port, 10131, "port");
	ASSERT_STREQ(u.path, TOP_API_PATH, "no path: the API's");
	ASSERT_EQ(top_url_parse(&u, "kvm-host-7:8080/", why, sizeof(why)), 0, "no scheme");
	ASSERT_STREQ(u.host, "kvm-host-7", "host");
	ASSERT_STREQ(u.path, TOP_API_PATH, "/ alone: the API's");
	ASSERT_EQ(top_url_parse(&u, "http://[::1]:9/x/y", why, sizeof(why)), 0, "v6");
	ASSERT_STREQ(u.host, "::1", "v6 host");
	ASSERT_EQ(u.port, 9, "v6 port");
	ASSERT_STREQ(u.path, "/x/y", "path kept");
	ASSERT_EQ(top_url_parse(&u, "http://h", why, sizeof(why)), 0, "default port");
	ASSERT_EQ(u.port, 80, "80");
	ASSERT_EQ(top_url_parse(&u, "https://h", why, sizeof(why)), -EINVAL, "https");
	ASSERT_TRUE(strstr(why, "https is not supported") != NULL, "%s", why);
	ASSERT_EQ(top_url_parse(&u, "ftp://h", why, sizeof(why)), -EINVAL, "ftp");
	ASSERT_EQ(top_url_parse(&u, "http://h:0", why, sizeof(why)), -EINVAL, "port 0");
	ASSERT_EQ(top_url_parse(&u, "http://h:99999", why, sizeof(why)), -EINVAL, "port range");
	ASSERT_EQ(top_url_parse(&u, "http://h:12x", why, sizeof(why)), -EINVAL, "port junk");
	ASSERT_EQ(top_url_parse(&u, "http://:80", why, sizeof(why)), -EINVAL, "no host");
	ASSERT_EQ(top_url_parse(&u, "http://[::1", why, sizeof(why)), -EINVAL, "unterminated");
}

static const struct test tests[] = {
	TEST_ENTRY(round_trip_through_the_library_renderer),
	TEST_ENTRY(real_document_from_the_guest),
	TEST_ENTRY(documents_that_are_not_snapshots),
	TEST_ENTRY(vm_identity_without_id),
	TEST_ENTRY(url_parsing),
};

int main(void)
{
	return test_run(tests, TEST_COUNT(tests));
}
