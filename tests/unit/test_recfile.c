// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_recfile.c - tools/kvmcmo/recfile.c: a snapshot written as a
 * recording sample and read back (every count, bucket and key survives),
 * the matching keys of VMs that share a name, and the reader's one-line
 * messages for truncated, corrupted, wrong-version and wrong-content
 * files, each naming the file and the place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "recfile.h"

/* ---- keys ----------------------------------------------------------------------- */

TEST(keys_repeated_names_by_fd)
{
	/* the workload's `multi` case: one process, three VMs, one name; the
	 * snapshot lists them in first-abort order, which need not be fd order */
	struct kvmcmo_vm v[] = {
		{ .id = 1, .pid = 10, .fd = 7, .first_ns = 100 },
		{ .id = 2, .pid = 10, .fd = 5, .first_ns = 300 },
		{ .id = 3, .pid = 11, .fd = 5, .first_ns = 200 },
		{ .id = 4, .pid = 10, .fd = 6, .first_ns = 50 },
		{ .id = 5, .pid = 12, .fd = 5 },
	};
	const char *names[] = { "multi", "multi", "other", "multi", "" };
	char **k;

	if (!ASSERT_EQ(rec_vm_keys(v, names, 5, &k), 0, "keys"))
		return;
	ASSERT_STREQ(k[1], "multi#1", "fd 5");
	ASSERT_STREQ(k[3], "multi#2", "fd 6");
	ASSERT_STREQ(k[0], "multi#3", "fd 7");
	ASSERT_STREQ(k[2], "other", "a unique name stays as it is");
	ASSERT_STREQ(k[4], "(unnamed)", "empty name");
	rec_keys_free(k, 5);
}

TEST(keys_always_unique)
{
	/* a VM really named "a#2" meets the generated "a#2" */
	struct kvmcmo_vm v[] = { { .fd = 5 }, { .fd = 6 }, { .fd = 3 } };
	const char *names[] = { "a", "a", "a#2" };
	char **k;

	if (!ASSERT_EQ(rec_vm_keys(v, names, 3, &k), 0, "keys"))
		return;
	ASSERT_TRUE(strcmp(k[0], k[1]) && strcmp(k[1], k[2]) && strcmp(k[0], k[2]),
		    "%s %s %s", k[0], k[1], k[2]);
	ASSERT_STREQ(k[0], "a#1", "first a");
	rec_keys_free(k, 3);
}

/* ---- round trip ------------------------------------------------------------------- */

#define VM_A 0x1001ULL
#define VM_B 0x2003ULL

static struct kvmcmo_vm vms[] = {
	{ .id = VM_A, .pid = 4242, .fd = 17, .alive = true, .name = "vm1" },
	{ .id = VM_B, .pid = 4243, .fd = 5, .alive = false, .name = "bad\xff name" },
};

static struct kvmcmo_abort_row aborts[] = {
	{ { VM_A, 0, KVMCMO_KIND_CMO, KVMCMO_FAULT_TRANSLATION, KVMCMO_MEMSLOT_RO,
	    KVMCMO_OUTCOME_NISV }, 7 },
	{ { VM_A, 1, KVMCMO_KIND_CMO, KVMCMO_FAULT_TRANSLATION, KVMCMO_MEMSLOT_RO,
	    KVMCMO_OUTCOME_NISV }, 5 },
	{ { VM_A, 0, KVMCMO_KIND_READ, KVMCMO_FAULT_TRANSLATION, KVMCMO_MEMSLOT_RW,
	    KVMCMO_OUTCOME_MAP_RW }, 100 },
	{ { VM_B, 0, KVMCMO_KIND_WRITE, KVMCMO_FAULT_PERMISSION, KVMCMO_MEMSLOT_RO,
	    KVMCMO_OUTCOME_MMIO_USER }, 3 },
};

static struct kvmcmo_lat_row lat[1];
static struct kvmcmo_dfault_row dfaults[1];
static struct kvmcmo_dabt_row dabts[] = { { { VM_B, KVMCMO_DABT_USERSPACE, 0 }, 2 } };

static struct kvmcmo_snapshot snapshot(void)
{
	struct kvmcmo_snapshot s = {
		.vms = vms, .nvms = 2, .aborts = aborts, .naborts = 4, .lat = lat, .nlat = 1,
		.dabts = dabts, .ndabts = 1, .dfaults = dfaults, .ndfaults = 1,
	};

	lat[0].key.vm = VM_A;
	lat[0].key.outcome = KVMCMO_OUTCOME_NISV;
	lat[0].hist.slots[12] = 10;
	lat[0].hist.slots[15] = 2;
	lat[0].hist.count = 12;
	lat[0].hist.sum_ns = 123456;
	dfaults[0].key.vm = VM_A;
	dfaults[0].key.kind = KVMCMO_KIND_CMO;
	dfaults[0].key.memslot = KVMCMO_MEMSLOT_RO;
	dfaults[0].hist.slots[20] = 4;
	dfaults[0].hist.count = 4;
	dfaults[0].hist.sum_ns = 4 << 20;
	s.stats[KVMCMO_STAT_MAP_FULL] = 1;
	return s;
}

/* a whole document around samples, the way record.c writes it */
static char *document(json_t *sample, int nsamples)
{
	json_t *doc = json_pack("{s:s, s:i, s:{s:s, s:s}, s:{s:s, s:s},"
				" s:{s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}]}, s:{s:s}, s:s, s:[]}",
				"format", "kvmcmo-record", "schema", 1,
				"tool", "name", "kvmcmo", "version", "9.9",
				"host", "hostname", "h1", "kernel_release", "6.12.0",
				"attach", "requested", "auto", "probes",
				"role", "abort entry", "function", "f", "mode", "fentry",
				"role", "x", "function", "g", "mode", "kprobe",
				"target", "mode", "command", "start", "2026-01-01T00:00:00.000Z",
				"samples");
	char *txt;

	for (int i = 0; i < nsamples; i++)
		json_array_append(json_object_get(doc, "samples"), sample);
	txt = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return txt;
}

TEST(roundtrip)
{
	struct kvmcmo_snapshot s = snapshot();
	struct rec_sample_info info = { .start_unix_ns = 1700000000123456789ULL,
					.duration_ns = 2500000000ULL, .exit_status = 3,
					.interval_ns = 1000000000ULL };
	__u64 ra[] = { 10, 2, 0 };
	struct rec_rate rates[2] = { { ra, 3 }, { NULL, 0 } };
	json_t *j = rec_sample_json(&s, rates, &info);
	const struct rec_vm *a, *b;
	struct rec_file f;
	char err[256], *txt;

	if (!ASSERT_TRUE(j != NULL, "sample json"))
		return;
	ASSERT_STREQ(json_string_value(json_object_get(j, "start")), "2023-11-14T22:13:20.123Z",
		     "ISO start");
	txt = document(j, 2);
	json_decref(j);
	if (!ASSERT_EQ(rec_parse(txt, strlen(txt), "t.json", &f, err, sizeof(err)), 0, "%s", err))
		goto out;
	ASSERT_EQ(f.schema, 1, "schema");
	ASSERT_STREQ(f.attach, "fentry+kprobe", "attach summary");
	ASSERT_STREQ(f.kernel_release, "6.12.0", "kernel");
	ASSERT_EQ(f.nsamples, 2, "samples");
	ASSERT_EQ(f.samples[1].duration_ns, 2500000000ULL, "duration");
	ASSERT_EQ(f.samples[0].exit_status, 3, "exit status");
	ASSERT_EQ(f.samples[0].stats[KVMCMO_STAT_MAP_FULL], 1, "stats");
	a = rec_sample_vm(&f.samples[0], "vm1");
	/* the name's bad byte became U+FFFD, and so did its key */
	b = rec_sample_vm(&f.samples[0], "bad\xef\xbf\xbd name");
	if (!ASSERT_TRUE(a && b, "both VMs by key"))
		goto out;
	ASSERT_EQ(a->naborts, 2, "rows summed over vCPUs");
	ASSERT_EQ(a->aborts[0].cls, rec_class(KVMCMO_KIND_CMO, KVMCMO_FAULT_TRANSLATION,
					      KVMCMO_MEMSLOT_RO, KVMCMO_OUTCOME_NISV), "class");
	ASSERT_EQ(a->aborts[0].count, 12, "7 + 5 over two vCPUs");
	ASSERT_EQ(a->aborts[1].count, 100, "reads");
	ASSERT_EQ(a->nlat, 1, "latency rows");
	ASSERT_EQ(a->lat[0].a, KVMCMO_OUTCOME_NISV, "outcome");
	ASSERT_EQ(a->lat[0].h.slots[12], 10, "bucket 12");
	ASSERT_EQ(a->lat[0].h.slots[15], 2, "bucket 15");
	ASSERT_EQ(a->lat[0].h.count, 12, "count");
	ASSERT_EQ(a->lat[0].h.sum_ns, 123456, "sum");
	ASSERT_EQ(a->ngaps, 1, "double faults");
	ASSERT_EQ(a->gaps[0].count, 4, "double fault count");
	ASSERT_EQ(a->gaps[0].h.slots[20], 4, "gap bucket");
	ASSERT_TRUE(a->peak_per_s == 10.0, "peak rate %g", a->peak_per_s);
	ASSERT_EQ(b->dabt[KVMCMO_DABT_USERSPACE], 2, "dabt");
	ASSERT_EQ(b->pid, 4243, "pid");
	ASSERT_EQ(b->fd, 5, "fd");
	rec_free(&f);
out:
	free(txt);
}

/* ---- bad input: one line, the file and the place ----------------------------------- */

#define HEAD "{\"format\": \"kvmcmo-record\", \"schema\": 1, \"tool\": {\"version\": \"1\"}," \
	     " \"host\": {\"hostname\": \"h\", \"kernel_release\": \"k\"}," \
	     " \"target\": {\"mode\": \"command\"}, \"samples\": "
#define VMX(aborts) "[{\"duration_ns\": 1, \"vms\": [{\"key\": \"k\", \"name\": \"n\"," \
		    " \"aborts\": [" aborts "], \"dabt_injections\": {\"abort\": 0," \
		    " \"userspace\": 0}, \"double_faults\": [], \"latency_ns\": {}}]}]}"
#define ROWX(kind, count) "{\"kind\": \"" kind "\", \"fault\": \"translation\"," \
			  " \"memslot\": \"ro\", \"outcome\": \"nisv\", \"count\": " count "}"

TEST(bad_input_messages)
{
	static const struct { const char *doc, *msg; } c[] = {
		/* truncated: jansson's line, column and byte */
		{ "{\"format\": \"kvmcmo-record\",\n \"schema\": 1",
		  "t.json: line 2, column 12 (byte 40): '}' expected near end of file" },
		{ "", "t.json: line 1, column 0 (byte 0): '[' or '{' expected near end of file" },
		{ "{\"a\": 1, \"a\": 2}", "t.json: line 1, column 12 (byte 12): duplicate object "
		  "key near '\"a\"'" },
		{ "{\"format\": \"kvmcmo-record\", \"schema\": 1, \"x\": \x01}",
		  "t.json: line 1, column 47 (byte 47): invalid token near '?'" },
		{ "[1, 2]", "t.json: at the top level: a recording is a JSON object, not an array" },
		{ "{\"vms\": []}", "t.json: at the top level: not a kvmcmo recording (this looks "
		  "like `kvmcmo stat --json` output; record with `kvmcmo record`)" },
		{ "{\"format\": \"perf\"}", "t.json: at the top level: not a kvmcmo recording (no "
		  "\"format\": \"kvmcmo-record\")" },
		{ "{\"format\": \"kvmcmo-record\", \"schema\": 2}", "t.json: at the top level: "
		  "schema 2 is newer than this kvmcmo " KVMCMO_VERSION " reads (1 to 1): use a "
		  "newer kvmcmo" },
		{ "{\"format\": \"kvmcmo-record\", \"schema\": 0}", "t.json: at the top level: "
		  "schema 0 is not one this kvmcmo reads (1 to 1)" },
		{ "{\"format\": \"kvmcmo-record\", \"schema\": \"1\"}", "t.json: at schema: must be "
		  "an integer, not a string" },
		{ HEAD "[]}", "t.json: at the top level: \"samples\" is empty: nothing was recorded" },
		{ HEAD VMX(ROWX("cmoo", "1")), "t.json: at samples[0].vms[0].aborts[0].kind: "
		  "unknown kind 'cmoo'" },
		{ HEAD VMX(ROWX("cmo", "-1")), "t.json: at samples[0].vms[0].aborts[0].count: must "
		  "not be negative (-1)" },
		{ HEAD VMX(ROWX("cmo", "1.5")), "t.json: at samples[0].vms[0].aborts[0].count: must "
		  "be a non-negative integer, not a real number" },
		{ HEAD VMX(ROWX("cmo", "1") "," ROWX("cmo", "2")), "t.json: at samples[0].vms[0]."
		  "aborts: the same kind, fault, memslot and outcome appear twice" },
		{ HEAD VMX("{\"kind\": \"cmo\"}"), "t.json: at samples[0].vms[0].aborts[0]: "
		  "\"fault\" is missing" },
		{ HEAD VMX(ROWX("cmo", "99999999999999999999")), "t.json: line 1, column 329 "
		  "(byte 329): too big integer near '99999999999999999999'" },
		{ HEAD "[{\"duration_ns\": 0, \"vms\": []}]}", "t.json: at samples[0]: "
		  "\"duration_ns\" must be positive" },
		{ HEAD "[{\"duration_ns\": 5, \"vms\": [{\"key\": \"\\n\"}]}]}",
		  "t.json: at samples[0].vms[0]: \"name\" is missing" },
		{ HEAD "[{\"duration_ns\": 5, \"vms\": [{\"key\": \"\"}]}]}",
		  "t.json: at samples[0].vms[0]: \"key\" must not be empty" },
	};
	struct rec_file f;
	char err[512];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int r = rec_parse(c[i].doc, strlen(c[i].doc), "t.json", &f, err, sizeof(err));

		if (!ASSERT_TRUE(r == -EINVAL, "case %zu parsed", i))
			continue;
		ASSERT_STREQ(err, c[i].msg, "case %zu", i);
		ASSERT_TRUE(!strchr(err, '\n'), "one line: %s", err);
		rec_free(&f);
	}
}

TEST(bad_histograms)
{
	static const struct { const char *hist, *msg; } c[] = {
		{ "{\"count\": 1, \"buckets\": [{\"le\": 3, \"count\": 1}]}",
		  "at samples[0].vms[0].latency_ns.nisv.buckets[0]: \"le\" must be a power of two "
		  "from 2 to 2^40, not 3" },
		{ "{\"count\": 1, \"buckets\": [{\"le\": 8, \"count\": 1}, {\"le\": 4, \"count\": 1}]}",
		  "at samples[0].vms[0].latency_ns.nisv.buckets[1]: buckets must be in increasing "
		  "\"le\" order" },
		{ "{\"count\": 1}", "at samples[0].vms[0].latency_ns.nisv: \"buckets\" is missing" },
		{ "[]", "at samples[0].vms[0].latency_ns.nisv: must be a histogram object, not an "
		  "array" },
	};
	struct rec_file f;
	char err[512], *doc;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (asprintf(&doc, HEAD "[{\"duration_ns\": 1, \"vms\": [{\"key\": \"k\", \"name\": "
			     "\"n\", \"aborts\": [], \"dabt_injections\": {\"abort\": 0, "
			     "\"userspace\": 0}, \"double_faults\": [], \"latency_ns\": {\"nisv\": "
			     "%s}}]}]}", c[i].hist) < 0)
			return;
		if (ASSERT_EQ(rec_parse(doc, strlen(doc), "h.json", &f, err, sizeof(err)), -EINVAL,
			      "case %zu", i))
			ASSERT_TRUE(strstr(err, c[i].msg) != NULL, "case %zu: %s", i, err);
		else
			rec_free(&f);
		free(doc);
	}
}

TEST(duplicate_vm_keys)
{
	const char *doc = HEAD "[{\"duration_ns\": 1, \"vms\": [{\"key\": \"k\", \"name\": \"n\","
		" \"aborts\": [], \"dabt_injections\": {\"abort\": 0, \"userspace\": 0},"
		" \"double_faults\": [], \"latency_ns\": {}}, {\"key\": \"k\", \"name\": \"m\","
		" \"aborts\": [], \"dabt_injections\": {\"abort\": 0, \"userspace\": 0},"
		" \"double_faults\": [], \"latency_ns\": {}}]}]}";
	struct rec_file f;
	char err[256];

	ASSERT_EQ(rec_parse(doc, strlen(doc), "d.json", &f, err, sizeof(err)), -EINVAL, "dup");
	ASSERT_STREQ(err, "d.json: at samples[0].vms: two VMs have the key 'k'", "message");
}

TEST(load_missing_file)
{
	struct rec_file f;
	char err[256];

	ASSERT_EQ(rec_load("/nonexistent/x.json", &f, err, sizeof(err)), -ENOENT, "enoent");
	ASSERT_STREQ(err, "/nonexistent/x.json: No such file or directory", "message");
}

static const struct test tests[] = {
	TEST_ENTRY(keys_repeated_names_by_fd),
	TEST_ENTRY(keys_always_unique),
	TEST_ENTRY(roundtrip),
	TEST_ENTRY(bad_input_messages),
	TEST_ENTRY(bad_histograms),
	TEST_ENTRY(duplicate_vm_keys),
	TEST_ENTRY(load_missing_file),
};

int main(void)
{
	return test_run(tests, TEST_COUNT(tests));
}
