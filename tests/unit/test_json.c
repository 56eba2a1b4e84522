// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_json.c - user/json.c: a hand-built snapshot rendered and compared
 * with tests/unit/golden/snapshot*.json, plus direct checks of what the
 * golden files encode (sums over vCPUs, zero rows left out, ordering) so a
 * careless golden rewrite cannot hide a regression there.
 *
 * Golden files are found next to this source (__FILE__);
 * KVMCMO_GOLDEN_UPDATE=1 rewrites them instead of comparing.
 *
 * Build: cc -std=c11 -D_GNU_SOURCE -Ibpf -Iuser -Itests/unit \
 *        tests/unit/test_json.c user/json.c user/regions.c user/hist.c user/labels.c -ljansson
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "golden.h"
#include "libkvmcmo.h"

/* ---- the snapshot ----------------------------------------------------------- */

#define VM_A 0x1001ULL          /* sequence 1 on CPU 1 */
#define VM_B 0x2003ULL
#define VM_C 0x3000ULL          /* no rows at all */
#define VM_GONE 0x9999ULL       /* rows, but not in vms[] */

#define HOSTILE_NAME "evil \"q\" \\ back\\\\slash\nnewline\ttab \xc3\xa9"

static struct kvmcmo_vm vms[] = {
	{ .id = VM_A, .pid = 4242, .fd = 17, .alive = true, .name = "vm1" },
	{ .id = VM_B, .pid = 4243, .fd = -1, .alive = false, .name = HOSTILE_NAME },
	{ .id = VM_C, .pid = 4244, .fd = 12, .alive = true, .name = "idle" },
};

#define AB(vm_, vcpu_, k, f, m, o, n) \
	{ .key = { .vm = vm_, .vcpu = vcpu_, .kind = KVMCMO_KIND_##k, .fault = KVMCMO_FAULT_##f, \
		   .memslot = KVMCMO_MEMSLOT_##m, .outcome = KVMCMO_OUTCOME_##o }, .count = n }

/* deliberately out of order: the renderer sorts */
static struct kvmcmo_abort_row aborts[] = {
	AB(VM_A, 1, WRITE, TRANSLATION, RW, MAP_RW, 3),
	AB(VM_A, 0, CMO, PERMISSION, RW, RELAX, 5),
	AB(VM_B, 0, EXEC, TRANSLATION, RO, INJECT_DABT, 1),
	AB(VM_A, 0, READ, TRANSLATION, NONE, MMIO_USER, 10),
	AB(VM_A, 1, CMO, PERMISSION, RW, RELAX, 7),     /* + vcpu 0's 5 = 12 */
	AB(VM_A, 2, READ, TRANSLATION, NONE, MMIO_USER, 0),     /* zero: left out */
	AB(VM_GONE, 0, READ, TRANSLATION, NONE, MMIO_USER, 99), /* unknown VM */
	AB(VM_A, 0, CMO, TRANSLATION, RW, MAP_RW, 2),
	{ .key = { .vm = VM_A, .vcpu = 0, .kind = 99 }, .count = 1000 },  /* bad enum */
};

/* a histogram from (slot, count) pairs; sum is a plausible mid-bucket total */
static struct kvmcmo_hist mkhist(int n, const int (*sc)[2])
{
	struct kvmcmo_hist h = {};

	for (int i = 0; i < n; i++) {
		h.slots[sc[i][0]] += sc[i][1];
		h.count += sc[i][1];
		h.sum_ns += (__u64)sc[i][1] * (3ULL << sc[i][0]) / 2;
	}
	return h;
}

#define HIST(...) mkhist(sizeof((const int[][2]){ __VA_ARGS__ }) / sizeof(int[2]), \
			 (const int[][2]){ __VA_ARGS__ })

static struct kvmcmo_lat_row lat[4];
static struct kvmcmo_dabt_row dabts[] = {
	{ .key = { .vm = VM_B, .source = KVMCMO_DABT_USERSPACE }, .count = 4 },
	{ .key = { .vm = VM_A, .source = KVMCMO_DABT_ABORT }, .count = 2 },
};
static struct kvmcmo_dfault_row dfaults[3];

#define RG(vm_, slot_, base_, size_, k, m, o, n) \
	{ .key = { .vm = vm_, .base = base_, .size = size_, .slot = slot_, .kind = KVMCMO_KIND_##k, \
		   .memslot = KVMCMO_MEMSLOT_##m, .outcome = KVMCMO_OUTCOME_##o }, .count = n }

static struct kvmcmo_region_row regions[] = {
	RG(VM_A, -1, 0x09000000, 0x10000, READ, NONE, MMIO_USER, 10),
	RG(VM_A, 3, 0x40000000, 0x40000000, CMO, RW, MAP_RW, 2),
	RG(VM_A, 3, 0x40000000, 0x40000000, CMO, RW, RELAX, 12),
	/* same region, dirty logging switched on: a row of its own (memslot) */
	RG(VM_A, 3, 0x40000000, 0x40000000, CMO, RW_DIRTY_LOG, MAP_RW, 3),
	RG(VM_A, 0, 0x0, 0x4000000, EXEC, RO, MAP_RO, 5),       /* ties with map_rw: 5 */
	RG(VM_A, 4, 0x80000000, 0x1000, WRITE, RW, MAP_RW, 0),  /* zero: left out */
	RG(VM_B, 1, 0x40000000, 0x20000000, EXEC, RO, INJECT_DABT, 1),
};

static struct kvmcmo_snapshot snap(void)
{
	lat[0] = (struct kvmcmo_lat_row){ .key = { .vm = VM_A, .outcome = KVMCMO_OUTCOME_RELAX },
					   .hist = HIST({ 10, 4 }, { 11, 7 }, { 14, 1 }) };
	lat[1] = (struct kvmcmo_lat_row){ .key = { .vm = VM_A, .outcome = KVMCMO_OUTCOME_MMIO_USER },
					   .hist = HIST({ 13, 10 }) };
	lat[2] = (struct kvmcmo_lat_row){ .key = { .vm = VM_A, .outcome = KVMCMO_OUTCOME_MAP_RW } };
	lat[3] = (struct kvmcmo_lat_row){ .key = { .vm = VM_B, .outcome = KVMCMO_OUTCOME_INJECT_DABT },
					   .hist = HIST({ 9, 1 }) };
	dfaults[0] = (struct kvmcmo_dfault_row){
		.key = { .vm = VM_A, .kind = KVMCMO_KIND_CMO, .memslot = KVMCMO_MEMSLOT_RW },
		.hist = HIST({ 5, 2 }, { 6, 1 }) };
	dfaults[1] = (struct kvmcmo_dfault_row){
		.key = { .vm = VM_A, .kind = KVMCMO_KIND_S1PTW, .memslot = KVMCMO_MEMSLOT_RW } };
	dfaults[2] = (struct kvmcmo_dfault_row){
		.key = { .vm = VM_GONE, .kind = KVMCMO_KIND_CMO, .memslot = KVMCMO_MEMSLOT_RW },
		.hist = HIST({ 5, 2 }) };

	return (struct kvmcmo_snapshot){
		.taken_ns = 123456789,
		.vms = vms, .nvms = TEST_COUNT(vms),
		.aborts = aborts, .naborts = TEST_COUNT(aborts),
		.lat = lat, .nlat = TEST_COUNT(lat),
		.dabts = dabts, .ndabts = TEST_COUNT(dabts),
		.dfaults = dfaults, .ndfaults = TEST_COUNT(dfaults),
		.regions = regions, .nregions = TEST_COUNT(regions),
		.stats = { [KVMCMO_STAT_MAP_FULL] = 1, [KVMCMO_STAT_NO_ENTRY] = 2 },
	};
}

static char *render(const struct kvmcmo_snapshot *s, unsigned int flags)
{
	json_t *j = kvmcmo_snapshot_json(s, flags);
	char *text = NULL, *nl;

	if (!j)
		return NULL;
	text = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2));
	json_decref(j);
	/* golden files end in a newline like any text file */
	if (text && asprintf(&nl, "%s\n", text) > 0) {
		free(text);
		return nl;
	}
	free(text);
	return NULL;
}

/* ---- tests -------------------------------------------------------------------- */

TEST(golden_default)
{
	struct kvmcmo_snapshot s = snap();
	char *t = render(&s, 0);

	if (ASSERT_TRUE(t != NULL, "render"))
		golden_check("snapshot.json", t);
	free(t);
}

TEST(golden_all_flags)
{
	struct kvmcmo_snapshot s = snap();
	char *t = render(&s, KVMCMO_JSON_HIST | KVMCMO_JSON_VCPUS | KVMCMO_JSON_REGIONS);

	if (ASSERT_TRUE(t != NULL, "render"))
		golden_check("snapshot_full.json", t);
	free(t);
}

static json_t *vm_at(json_t *root, size_t i)
{
	return json_array_get(json_object_get(root, "vms"), i);
}

static long long jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* what the golden files show, asserted field by field */
TEST(aborts_summed_sorted)
{
	struct kvmcmo_snapshot s = snap();
	json_t *root = kvmcmo_snapshot_json(&s, 0), *a;
	static const struct { const char *kind, *fault, *memslot, *outcome; long long n; } want[] = {
		{ "cmo", "translation", "rw", "map_rw", 2 },
		{ "cmo", "permission", "rw", "relax", 12 },
		{ "write", "translation", "rw", "map_rw", 3 },
		{ "read", "translation", "none", "mmio_user", 10 },
	};

	if (!ASSERT_TRUE(root != NULL, "render"))
		return;
	ASSERT_EQ(json_array_size(json_object_get(root, "vms")), 3, "one element per VM");
	ASSERT_EQ(jint(vm_at(root, 0), "id"), VM_A, "vms order");
	ASSERT_EQ(jint(vm_at(root, 2), "id"), VM_C, "vms order");

	a = json_object_get(vm_at(root, 0), "aborts");
	ASSERT_EQ(json_array_size(a), TEST_COUNT(want), "rows after summing, zero and bad rows out");
	for (size_t i = 0; i < TEST_COUNT(want) && i < json_array_size(a); i++) {
		json_t *r = json_array_get(a, i);

		ASSERT_STREQ(jstr(r, "kind"), want[i].kind, "row %zu", i);
		ASSERT_STREQ(jstr(r, "fault"), want[i].fault, "row %zu", i);
		ASSERT_STREQ(jstr(r, "memslot"), want[i].memslot, "row %zu", i);
		ASSERT_STREQ(jstr(r, "outcome"), want[i].outcome, "row %zu", i);
		ASSERT_EQ(jint(r, "count"), want[i].n, "row %zu", i);
		ASSERT_EQ(json_object_size(r), 5, "row %zu: no vcpu field", i);
	}

	/* latency: the zero map_rw hist is left out */
	ASSERT_EQ(json_object_size(json_object_get(vm_at(root, 0), "latency_ns")), 2, "latency keys");
	ASSERT_EQ(jint(json_object_get(json_object_get(vm_at(root, 0), "latency_ns"), "relax"), "p50"),
		  4096, "relax p50: 4 + 7 of 12 in [2048, 4096)");
	ASSERT_EQ(json_array_size(json_object_get(vm_at(root, 0), "double_faults")), 1,
		  "zero s1ptw gap hist left out");
	ASSERT_EQ(jint(json_object_get(vm_at(root, 0), "dabt_injections"), "userspace"), 0,
		  "both sources always present");
	ASSERT_EQ(jint(json_object_get(root, "stats"), "vm_overflow"), 0, "every stat present");
	ASSERT_EQ(jint(json_object_get(root, "stats"), "no_entry"), 2, "stat value");
	json_decref(root);
}

TEST(vm_without_rows)
{
	struct kvmcmo_snapshot s = snap();
	json_t *root = kvmcmo_snapshot_json(&s, KVMCMO_JSON_VCPUS | KVMCMO_JSON_REGIONS), *c;

	if (!ASSERT_TRUE(root != NULL, "render"))
		return;
	c = vm_at(root, 2);
	ASSERT_STREQ(jstr(c, "name"), "idle", "VM C");
	ASSERT_EQ(json_array_size(json_object_get(c, "aborts")), 0, "aborts");
	ASSERT_TRUE(json_is_array(json_object_get(c, "aborts")), "aborts is an array");
	ASSERT_EQ(json_array_size(json_object_get(c, "double_faults")), 0, "double_faults");
	ASSERT_TRUE(json_is_object(json_object_get(c, "latency_ns")), "latency_ns object");
	ASSERT_EQ(json_object_size(json_object_get(c, "latency_ns")), 0, "latency_ns empty");
	ASSERT_EQ(jint(json_object_get(c, "dabt_injections"), "abort"), 0, "dabt abort");
	ASSERT_EQ(json_array_size(json_object_get(c, "vcpus")), 0, "vcpus");
	ASSERT_EQ(json_array_size(json_object_get(c, "regions")), 0, "regions");
	json_decref(root);
}

TEST(vcpus_and_regions)
{
	struct kvmcmo_snapshot s = snap();
	json_t *root = kvmcmo_snapshot_json(&s, KVMCMO_JSON_VCPUS | KVMCMO_JSON_REGIONS);
	json_t *v, *r;
	static const struct {
		const char *region; long long slot, count; const char *outcome, *memslot;
	} want[] = {
		{ "slot3", 3, 12, "relax", "rw" },
		{ "0x09000000", -1, 10, "mmio_user", "none" },
		{ "slot0", 0, 5, "map_ro", "ro" },
		{ "slot3", 3, 3, "map_rw", "rw_dirty_log" },    /* dirty logging on */
		{ "slot3", 3, 2, "map_rw", "rw" },              /* before it */
	};

	if (!ASSERT_TRUE(root != NULL, "render"))
		return;
	v = json_object_get(vm_at(root, 0), "vcpus");
	ASSERT_EQ(json_array_size(v), 2, "vcpu 2 had only a zero row");
	ASSERT_EQ(jint(json_array_get(v, 0), "vcpu"), 0, "vcpu 0");
	ASSERT_EQ(jint(json_array_get(v, 0), "aborts"), 5 + 10 + 2, "vcpu 0 aborts (bad kind out)");
	ASSERT_EQ(jint(json_array_get(v, 0), "cmo"), 5 + 2, "vcpu 0 cmo");
	ASSERT_EQ(jint(json_array_get(v, 1), "vcpu"), 1, "vcpu 1");
	ASSERT_EQ(jint(json_array_get(v, 1), "aborts"), 3 + 7, "vcpu 1 aborts");
	ASSERT_EQ(jint(json_array_get(v, 1), "cmo"), 7, "vcpu 1 cmo");

	r = json_object_get(vm_at(root, 0), "regions");
	ASSERT_EQ(json_array_size(r), TEST_COUNT(want), "regions");
	for (size_t i = 0; i < TEST_COUNT(want) && i < json_array_size(r); i++) {
		json_t *e = json_array_get(r, i);

		ASSERT_STREQ(jstr(e, "region"), want[i].region, "region %zu", i);
		ASSERT_EQ(jint(e, "slot"), (unsigned long long)want[i].slot, "region %zu", i);
		ASSERT_EQ(jint(e, "count"), want[i].count, "region %zu", i);
		ASSERT_STREQ(jstr(e, "outcome"), want[i].outcome, "region %zu", i);
		ASSERT_STREQ(jstr(e, "memslot"), want[i].memslot, "region %zu", i);
	}
	json_decref(root);
}

TEST(hostile_name_round_trip)
{
	struct kvmcmo_snapshot s = snap();
	json_t *root = kvmcmo_snapshot_json(&s, 0), *back;
	json_error_t e;
	char *text;

	if (!ASSERT_TRUE(root != NULL, "render"))
		return;
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!ASSERT_TRUE(text != NULL, "dump"))
		return;
	ASSERT_TRUE(strstr(text, "\\\"q\\\"") && strstr(text, "\\n") && strstr(text, "\\\\"),
		    "escaped: %s", text);
	back = json_loads(text, 0, &e);
	free(text);
	if (!ASSERT_TRUE(back != NULL, "json_loads: %s", e.text))
		return;
	ASSERT_STREQ(jstr(vm_at(back, 1), "name"), HOSTILE_NAME, "round trip");
	ASSERT_TRUE(json_is_false(json_object_get(vm_at(back, 1), "alive")), "alive false");
	ASSERT_EQ(jint(vm_at(back, 1), "fd"), (unsigned long long)-1, "fd -1");
	json_decref(back);
}

/* argv is bytes: invalid UTF-8 must not make the whole document fail */
TEST(invalid_utf8_name)
{
	struct kvmcmo_vm v[] = { { .id = 1, .fd = -1 } };
	struct kvmcmo_snapshot s = { .vms = v, .nvms = 1 };
	json_t *root, *back;
	char *text;

	/* stray continuation, truncated 3-byte sequence, overlong '/', then ok */
	memcpy(v[0].name, "a\x80" "b\xe2\x98" "c\xc0\xaf" "d\xc3\xa9", 12);
	root = kvmcmo_snapshot_json(&s, 0);
	if (!ASSERT_TRUE(root != NULL, "render"))
		return;
	ASSERT_STREQ(jstr(vm_at(root, 0), "name"),
		     "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd" "d\xc3\xa9",
		     "bad bytes become U+FFFD");
	text = json_dumps(root, 0);
	back = text ? json_loads(text, 0, NULL) : NULL;
	ASSERT_TRUE(back != NULL, "parses back");
	json_decref(back);
	free(text);
	json_decref(root);

	/* a name filling all 128 bytes without a NUL stays inside the array */
	memset(v[0].name, 'n', sizeof(v[0].name));
	root = kvmcmo_snapshot_json(&s, 0);
	if (ASSERT_TRUE(root != NULL, "render unterminated"))
		ASSERT_EQ(strlen(jstr(vm_at(root, 0), "name")), sizeof(v[0].name), "unterminated");
	json_decref(root);
}

TEST(empty_snapshot)
{
	struct kvmcmo_snapshot s = {};
	json_t *root = kvmcmo_snapshot_json(&s, KVMCMO_JSON_HIST | KVMCMO_JSON_VCPUS);
	char *t;

	if (!ASSERT_TRUE(root != NULL, "render"))
		return;
	t = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	ASSERT_STREQ(t, "{\"stats\":{\"entry_busy\":0,\"map_full\":0,\"no_entry\":0,\"vm_destroy_unseen\":0,"
		     "\"vm_overflow\":0},\"vms\":[]}", "no VMs");
	free(t);
	json_decref(root);
}

TEST(hist_json)
{
	struct kvmcmo_hist h = HIST({ 9, 5 }, { 10, 10 }, { 12, 5 });
	json_t *j = kvmcmo_hist_json(&h);
	char *t;

	if (!ASSERT_TRUE(j != NULL, "render"))
		return;
	t = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	ASSERT_STREQ(t, "{\"count\":20,\"p50\":2048,\"p99\":8192,\"sum\":49920}", "HIST");
	free(t);
	json_decref(j);

	/* the bucket form, through a VM's latency */
	{
		struct kvmcmo_vm v[] = { { .id = 7 } };
		struct kvmcmo_lat_row l[] = { { .key = { .vm = 7, .outcome = KVMCMO_OUTCOME_SKIP },
						.hist = h } };
		struct kvmcmo_snapshot s = { .vms = v, .nvms = 1, .lat = l, .nlat = 1 };
		json_t *root = kvmcmo_snapshot_json(&s, KVMCMO_JSON_HIST);

		if (!ASSERT_TRUE(root != NULL, "render"))
			return;
		t = json_dumps(json_object_get(json_object_get(vm_at(root, 0), "latency_ns"), "skip"),
			       JSON_SORT_KEYS | JSON_COMPACT);
		ASSERT_STREQ(t, "{\"buckets\":[{\"count\":5,\"le\":1024},{\"count\":10,\"le\":2048},"
			     "{\"count\":5,\"le\":8192}],\"count\":20,\"p50\":2048,\"p99\":8192,"
			     "\"sum\":49920}", "HIST with buckets");
		free(t);
		json_decref(root);
	}
}

static const struct test tests[] = {
	TEST_ENTRY(golden_default),
	TEST_ENTRY(golden_all_flags),
	TEST_ENTRY(aborts_summed_sorted),
	TEST_ENTRY(vm_without_rows),
	TEST_ENTRY(vcpus_and_regions),
	TEST_ENTRY(hostile_name_round_trip),
	TEST_ENTRY(invalid_utf8_name),
	TEST_ENTRY(empty_snapshot),
	TEST_ENTRY(hist_json),
};

int main(void)
{
	return test_run(tests, TEST_COUNT(tests));
}
