// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_top_output.c - kvmcmotop's batch frames (tools/kvmcmotop/output.c):
 * plain text, JSON and CSV of one frame built from test_top.h's snapshots,
 * read back and checked value by value.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "test_top.h"

static struct top_sample s1, s2;
static struct top_out_info info = { .source = "local probes (fentry)", .interval = 2.0,
				    .now = 1700000000 };

static bool load(void)
{
	struct snap_builder b;

	snap1(&b);
	/* a name that needs quoting in CSV */
	snprintf(b.vms[1].name, sizeof(b.vms[1].name), "db, \"main\"");
	if (top_sample_from_snapshot(&s1, &b.s))
		return false;
	snap2(&b);
	snprintf(b.vms[1].name, sizeof(b.vms[1].name), "db, \"main\"");
	return !top_sample_from_snapshot(&s2, &b.s);
}

/* the frame printed by fn into a string */
static char *print(int (*fn)(FILE *, const struct top_frame *, const struct top_view_opts *,
			     const struct top_out_info *), const struct top_view_opts *o)
{
	struct top_frame f;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m || top_frame_build(&f, &s2, &s1, NULL, o)) {
		if (m)
			fclose(m);
		free(buf);
		return NULL;
	}
	ASSERT_EQ(fn(m, &f, o, &info), 0, "print");
	fclose(m);
	top_frame_free(&f);
	return buf;
}

static char *line_with(char *text, const char *needle, char *out, size_t len)
{
	char *p = strstr(text, needle), *b, *e;

	out[0] = 0;
	if (!p)
		return out;
	for (b = p; b > text && b[-1] != '\n'; b--)
		;
	e = strchr(p, '\n');
	snprintf(out, len, "%.*s", (int)(e ? e - b : (long)strlen(b)), b);
	return out;
}

TEST(text_totals)
{
	struct top_view_opts o = { .sort = TOP_COL_NAME, .ascending = true, .totals = true,
				   .kind = KVMCMO_KIND_CMO };
	char *t = print(top_print_text, &o), l[512];

	if (!ASSERT_TRUE(t != NULL, "printed"))
		return;
	ASSERT_TRUE(strstr(t, "local probes (fentry)  every 2.0 s  totals since start  kind cmo\n")
		    != NULL, "title: %s", t);
	ASSERT_TRUE(strstr(t, "VMs: 4 shown, 4 seen (3 alive)  since 0.0 s\n") != NULL,
		    "VM line (base zero: since nothing)");
	/* widths follow the content: "db, \"main\"" is the longest name (10) */
	ASSERT_STREQ(line_with(t, "NAME", l, sizeof(l)),
		     "NAME       PID VCP ABRT CMO TRAN PERM DBL RO SKIP EXIT ERR  P50  P99",
		     "header");
	/* web since zero: 18 aborts, cmo 10+2+2+1 = 15, trans 13, perm 2, dbl 2,
	 * ro 2, skip 1, exits 2, 4 vCPUs, p50 2048 p99 32768 */
	ASSERT_STREQ(line_with(t, "web", l, sizeof(l)),
		     "web        100   4   18  15   13    2   2  2    1    2   0 2.0u  33u", "web");
	ASSERT_STREQ(line_with(t, "old", l, sizeof(l)),
		     "old        300   1    1   1    1    0   0  1    0    0   1    -    -",
		     "destroyed VM with an error, no latency samples");
	ASSERT_STREQ(line_with(t, "TOTAL", l, sizeof(l)),
		     "TOTAL        -   7   34  16   14    2   2  3    1    2   1 8.2u  33u",
		     "total row: 18 + 10 + 1 + 5 aborts, vCPUs summed; p50 of 12 samples at "
		     "2048, 10 at 8192 and 6 at 32768 is 8192");
	ASSERT_TRUE(strstr(t, "db, \"main\"") < strstr(t, "new"), "sorted by name");
	free(t);
}

TEST(text_rates)
{
	struct top_view_opts o = { .sort = TOP_COL_ABORTS, .kind = KVMCMO_KIND_READ };
	char *t = print(top_print_text, &o), l[512];

	if (!ASSERT_TRUE(t != NULL, "printed"))
		return;
	ASSERT_TRUE(strstr(t, "rates per second  kind read\n") != NULL, "mode and kind");
	ASSERT_TRUE(strstr(t, "interval 2.00 s\n") != NULL, "interval");
	ASSERT_TRUE(strstr(line_with(t, "NAME", l, sizeof(l)), " READ ") != NULL,
		    "focus column named by the kind: %s", l);
	/* web: 8 aborts in 2 s = 4.0/s, none of them reads; new: 5 reads = 2.5/s */
	ASSERT_TRUE(!strncmp(line_with(t, "web", l, sizeof(l)), "web  ", 5) &&
		    strstr(l, " 4.0  0.0 ") != NULL, "web rates: %s", l);
	ASSERT_TRUE(strstr(line_with(t, "new", l, sizeof(l)), " 2.5  2.5  2.5 ") != NULL,
		    "new: aborts, reads, read translations per second: %s", l);
	free(t);
}

TEST(json_frame)
{
	struct top_view_opts o = { .sort = TOP_COL_ABORTS, .kind = KVMCMO_KIND_CMO };
	char *t = print(top_print_json, &o);
	json_t *j, *web = NULL, *v;
	size_t i;

	if (!ASSERT_TRUE(t != NULL, "printed"))
		return;
	ASSERT_TRUE(strchr(t, '\n') == t + strlen(t) - 1, "one line per frame");
	j = json_loads(t, 0, NULL);
	free(t);
	if (!ASSERT_TRUE(j != NULL, "valid JSON"))
		return;
	ASSERT_STREQ(json_string_value(json_object_get(j, "kind")), "cmo", "kind");
	ASSERT_STREQ(json_string_value(json_object_get(j, "mode")), "rates", "mode");
	ASSERT_STREQ(json_string_value(json_object_get(j, "source")), "local probes (fentry)",
		     "source");
	ASSERT_TRUE(json_real_value(json_object_get(j, "interval_s")) == 2.0, "interval");
	ASSERT_EQ(json_is_false(json_object_get(j, "final")), 1, "not the last frame");
	ASSERT_EQ(json_array_size(json_object_get(j, "vms")), 4, "VMs");
	json_array_foreach(json_object_get(j, "vms"), i, v)
		if (!strcmp(json_string_value(json_object_get(v, "name")), "web"))
			web = v;
	if (ASSERT_TRUE(web != NULL, "web")) {
		json_t *iv = json_object_get(web, "interval"), *tot = json_object_get(web, "total");

		ASSERT_EQ(json_integer_value(json_object_get(web, "pid")), 100, "pid");
		ASSERT_EQ(json_integer_value(json_object_get(web, "id")), VM_A, "id");
		ASSERT_EQ(json_integer_value(json_object_get(iv, "aborts")), 8, "interval count");
		ASSERT_TRUE(json_real_value(json_object_get(json_object_get(web, "rate"),
							    "aborts")) == 4.0, "rate");
		ASSERT_EQ(json_integer_value(json_object_get(tot, "focus")), 15, "total cmo");
		ASSERT_EQ(json_integer_value(json_object_get(tot, "double_faults")), 2, "dbl");
		ASSERT_EQ(json_integer_value(json_object_get(tot, "p99_ns")), 32768, "p99");
		ASSERT_EQ(json_integer_value(json_object_get(web, "vcpus")), 4, "vcpus");
	}
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(json_object_get(j, "total"),
		  "total"), "aborts")), 34, "total row");
	ASSERT_TRUE(json_object_get(json_object_get(j, "total"), "name") == NULL,
		    "the total row has no identity");
	json_decref(j);
}

TEST(csv_frame)
{
	struct top_view_opts o = { .sort = TOP_COL_NAME, .ascending = true, .totals = true,
				   .kind = KVMCMO_KIND_WRITE };
	struct top_frame f;
	char *buf = NULL, l[512];
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!ASSERT_TRUE(m != NULL, "memstream") ||
	    !ASSERT_EQ(top_frame_build(&f, &s2, &s1, NULL, &o), 0, "frame"))
		return;
	ASSERT_EQ(top_print_csv(m, &f, &o, &info, true), 0, "with header");
	ASSERT_EQ(top_print_csv(m, &f, &o, &info, false), 0, "without");
	fclose(m);
	top_frame_free(&f);
	ASSERT_STREQ(line_with(buf, "timestamp", l, sizeof(l)),
		     "timestamp,name,pid,fd,alive,vcpus,aborts,write,write_translation,"
		     "write_permission,write_double_faults,write_ro,write_skip,write_exits,"
		     "write_errors,p50_ns,p99_ns", "header names the kind");
	ASSERT_TRUE(strstr(strstr(buf, "timestamp") + 1, "timestamp") == NULL, "header once");
	/* db: 10 writes, translation, on rw, 10 samples in [4096, 8192); quoted name */
	ASSERT_TRUE(strstr(buf, ",\"db, \"\"main\"\"\",200,10,1,1,10,10,10,0,0,0,0,0,0,8192,8192\n")
		    != NULL, "db row: %s", buf);
	ASSERT_TRUE(strstr(buf, ",TOTAL,,,,7,34,10,10,0,0,0,0,0,0,8192,32768\n") != NULL,
		    "total row");
	{
		/* every row has as many fields as the header (no quoting in
		 * the other rows) */
		int rows = 0;

		for (char *p = buf, *e; (e = strchr(p, '\n')); p = e + 1) {
			int commas = 0;
			bool q = false;

			for (char *c = p; c < e; c++) {
				if (*c == '"')
					q = !q;
				commas += !q && *c == ',';
			}
			ASSERT_EQ(commas, 16, "row %d fields", rows);
			rows++;
		}
		ASSERT_EQ(rows, 1 + 2 * 5, "header + two frames of 4 VMs and a total");
	}
	free(buf);
}

static const struct test tests[] = {
	TEST_ENTRY(text_totals),
	TEST_ENTRY(text_rates),
	TEST_ENTRY(json_frame),
	TEST_ENTRY(csv_frame),
};

int main(void)
{
	int r;

	if (!load()) {
		printf("cannot build the samples\n0 passed, 1 failed\n");
		return 1;
	}
	setenv("TZ", "UTC", 1);
	r = test_run(tests, TEST_COUNT(tests));
	top_sample_free(&s1);
	top_sample_free(&s2);
	return r;
}
