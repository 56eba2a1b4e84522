// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_prom.c - kvmcmod's pure parts: the Prometheus formatter
 * (user/kvmcmod/prom.c), the monotonic model (poll.c), VM lifecycle and
 * labels (vms.c), the snapshot document (api.c) and option values
 * (config.c).  Snapshots are built by hand, as the library would return
 * them, and folded through kd_model_update(); pages are compared with
 * tests/unit/golden/prom_*.txt (KVMCMO_GOLDEN_UPDATE=1 rewrites them), and
 * what the golden pages encode is also asserted directly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "golden.h"
#include "kvmcmod.h"

/* ---- table-driven value tests ------------------------------------------------------- */

TEST(escape)
{
	static const struct { const char *in, *out; } t[] = {
		{ "", "" },
		{ "plain", "plain" },
		{ "a\"b\\c\nd", "a\\\"b\\\\c\\nd" },
		{ "\\\\", "\\\\\\\\" },
		{ "\n\n", "\\n\\n" },
		{ "tab\tstays", "tab\tstays" },
		{ "\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9" },
	};

	for (size_t i = 0; i < TEST_COUNT(t); i++) {
		struct kd_buf b = {};

		kd_prom_escape(&b, t[i].in);
		ASSERT_STREQ(b.data ? b.data : "", t[i].out, "escape #%zu", i);
		kd_buf_free(&b);
	}
}

TEST(utf8_clean)
{
	static const struct { const char *in; size_t len; const char *out; } t[] = {
		{ "ascii", 128, "ascii" },
		{ "\xc3\xa9", 128, "\xc3\xa9" },
		{ "a\xffz", 128, "a\xef\xbf\xbdz" },            /* stray byte */
		{ "\xc0\xaf", 128, "\xef\xbf\xbd\xef\xbf\xbd" }, /* overlong '/' */
		{ "\xed\xa0\x80", 128, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
		{ "\xf0\x9f\x98\x80!", 128, "\xf0\x9f\x98\x80!" },
		{ "abc\xc3\xa9", 5, "abc" },    /* never cut inside a character */
		{ "abcdef", 4, "abc" },
	};

	for (size_t i = 0; i < TEST_COUNT(t); i++) {
		char out[128];

		kvmcmo_utf8_clean(out, t[i].len, t[i].in, strlen(t[i].in));
		ASSERT_STREQ(out, t[i].out, "clean #%zu", i);
	}
}

TEST(durations)
{
	static const struct { const char *in; int err; __u64 ns; } t[] = {
		{ "1", 0, 1000000000ULL },
		{ "1.5", 0, 1500000000ULL },
		{ "250ms", 0, 250000000ULL },
		{ "2s", 0, 2000000000ULL },
		{ "1m", 0, 60000000000ULL },
		{ "1h", 0, 3600000000000ULL },
		{ "0.001", 0, 1000000ULL },
		{ "0", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ "0.5ms", -EINVAL, 0 },        /* under 1 ms */
		{ "25h", -EINVAL, 0 },          /* over a day */
		{ "1x", -EINVAL, 0 },
		{ "s", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "nan", -EINVAL, 0 },
		{ "inf", -EINVAL, 0 },
	};

	for (size_t i = 0; i < TEST_COUNT(t); i++) {
		__u64 ns = 0;
		int err = kd_parse_duration(t[i].in, &ns);

		ASSERT_EQ(err, t[i].err, "'%s'", t[i].in);
		if (!err)
			ASSERT_EQ(ns, t[i].ns, "'%s'", t[i].in);
	}
}

TEST(listen_addresses)
{
	static const struct { const char *in; int err; const char *host; unsigned int port; } t[] = {
		{ "127.0.0.1:10131", 0, "127.0.0.1", 10131 },
		{ ":9999", 0, "", 9999 },
		{ "[::1]:10131", 0, "::1", 10131 },
		{ "localhost:1", 0, "localhost", 1 },
		{ "::1:10131", -EINVAL, NULL, 0 },     /* IPv6 needs brackets */
		{ "127.0.0.1", -EINVAL, NULL, 0 },
		{ "127.0.0.1:", -EINVAL, NULL, 0 },
		{ "127.0.0.1:0", -EINVAL, NULL, 0 },
		{ "127.0.0.1:65536", -EINVAL, NULL, 0 },
		{ "127.0.0.1:80x", -EINVAL, NULL, 0 },
		{ "[::1]10131", -EINVAL, NULL, 0 },
	};

	for (size_t i = 0; i < TEST_COUNT(t); i++) {
		char host[64] = "";
		unsigned int port = 0;
		int err = kd_parse_listen(t[i].in, host, sizeof(host), &port);

		ASSERT_EQ(err, t[i].err, "'%s'", t[i].in);
		if (!err) {
			ASSERT_STREQ(host, t[i].host, "'%s'", t[i].in);
			ASSERT_EQ(port, t[i].port, "'%s'", t[i].in);
		}
	}
}

#define S(x) ((__u64)(x) * 1000000000ULL)

TEST(grace_from_scrapes)
{
	static const struct {
		__u64 opt;              /* --vm-grace */
		int n;
		__u64 at[10];           /* scrape times */
		__u64 want;
	} t[] = {
		{ 0, 0, {}, S(120) },                   /* no scrape yet: 2 x 1m */
		{ 0, 1, { S(5) }, S(120) },
		{ 0, 2, { S(5), S(20) }, S(30) },       /* 2 x 15 s */
		{ 0, 4, { S(0), S(15), S(30), S(90) }, S(30) },  /* median gap */
		{ S(7), 4, { S(0), S(15), S(30), S(45) }, S(7) },  /* the option wins */
		{ 0, 3, { S(0), S(0) + 1000, S(0) + 2000 }, S(2) }, /* at least a poll (1 s) */
		/* only the last 8 scrapes count */
		{ 0, 10, { S(0), S(100), S(200), S(210), S(220), S(230), S(240), S(250),
			   S(260), S(270) }, S(20) },
	};

	for (size_t i = 0; i < TEST_COUNT(t); i++) {
		struct kd_opts o = { .interval_ns = S(1), .grace_ns = t[i].opt,
				     .max_vms = 8, .regions = 4 };
		struct kd_model m;

		kd_model_init(&m, &o);
		for (int s = 0; s < t[i].n; s++)
			kd_note_scrape(&m, t[i].at[s]);
		ASSERT_EQ(kd_grace_ns(&m), t[i].want, "grace #%zu", i);
		kd_model_free(&m);
	}
}

/* ---- hand-built snapshots -------------------------------------------------------------- */

#define VM_A 0x1001ULL
#define VM_B 0x2003ULL
#define VM_C 0x3000ULL
#define HOSTILE "a\"b\\c\nd"

struct snap_spec {
	__u64 taken;
	struct kvmcmo_vm vms[4];
	int nvms;
	struct kvmcmo_abort_row aborts[8];
	int naborts;
	struct kvmcmo_lat_row lat[4];
	int nlat;
	struct kvmcmo_dabt_row dabts[4];
	int ndabts;
	struct kvmcmo_dfault_row dfaults[2];
	int ndfaults;
	struct kvmcmo_region_row regions[8];
	int nregions;
	__u64 map_full;
};

static size_t g_ksz;

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, g_ksz);
}

#define COPY_SORTED(field, nfield, keytype)                                       \
	do {                                                                      \
		s->field = calloc(sp->nfield + 1, sizeof(*s->field));             \
		memcpy(s->field, sp->field, sp->nfield * sizeof(*s->field));      \
		s->nfield = sp->nfield;                                           \
		g_ksz = sizeof(keytype);                                          \
		qsort(s->field, s->nfield, sizeof(*s->field), cmp_key);           \
	} while (0)

/* a snapshot as kvmcmo_snapshot_read() returns it: malloc'ed, rows sorted */
static void build(struct kvmcmo_snapshot *s, const struct snap_spec *sp)
{
	memset(s, 0, sizeof(*s));
	s->taken_ns = sp->taken;
	s->vms = calloc(sp->nvms + 1, sizeof(*s->vms));
	memcpy(s->vms, sp->vms, sp->nvms * sizeof(*s->vms));
	s->nvms = sp->nvms;
	COPY_SORTED(aborts, naborts, struct kvmcmo_abort_key);
	COPY_SORTED(lat, nlat, struct kvmcmo_lat_key);
	COPY_SORTED(dabts, ndabts, struct kvmcmo_dabt_key);
	COPY_SORTED(dfaults, ndfaults, struct kvmcmo_dfault_key);
	COPY_SORTED(regions, nregions, struct kvmcmo_region_key);
	s->stats[KVMCMO_STAT_MAP_FULL] = sp->map_full;
}

static int update(struct kd_model *m, const struct snap_spec *sp)
{
	struct kvmcmo_snapshot s;
	int err;

	build(&s, sp);
	err = kd_model_update(m, &s);
	kvmcmo_snapshot_free(&s);
	return err;
}

#define ABORT(vmid, cpu, k, f, s, o, n) \
	{ { vmid, cpu, KVMCMO_KIND_##k, KVMCMO_FAULT_##f, KVMCMO_MEMSLOT_##s, \
	    KVMCMO_OUTCOME_##o }, n }
#define REGION(vmid, b, sz, sl, k, o, n) \
	{ { vmid, b, sz, sl, KVMCMO_KIND_##k, KVMCMO_OUTCOME_##o, KVMCMO_MEMSLOT_RW, 0 }, n }
#define VMREC(vmid, p, f, al, first, dead, nm) \
	{ .id = vmid, .pid = p, .fd = f, .alive = al, .first_ns = first, \
	  .destroyed_ns = dead, .name = nm }

/* a latency histogram: n observations in slot `slot`, sum ns */
static struct kvmcmo_hist hist1(int slot, __u64 n, __u64 sum)
{
	struct kvmcmo_hist h = {};

	h.slots[slot] = n;
	h.count = n;
	h.sum_ns = sum;
	return h;
}

/* poll 1 (t = 10 s): VM A (alive, "web") and VM C (hostile name)
 * poll 2 (t = 11 s): A grew; B new and already destroyed (short-lived, same
 *                    pid and name as A: its label gets "#<fd>"); C gone
 *                    from the kernel lists (treated as destroyed)
 * poll 3 (t = 13 s): A destroyed at 12 s; grace 1.5 s: B and C expire
 * poll 4 (t = 14 s): A expires */
static void spec_poll1(struct snap_spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->taken = S(10);
	sp->vms[sp->nvms++] = (struct kvmcmo_vm)VMREC(VM_A, 100, 11, true, S(9), 0, "web");
	sp->vms[sp->nvms++] = (struct kvmcmo_vm)VMREC(VM_C, 300, 5, true, S(9) + 5, 0, HOSTILE);
	sp->aborts[sp->naborts++] = (struct kvmcmo_abort_row)ABORT(VM_A, 0, READ, TRANSLATION, RW, MAP_RW, 5);
	sp->aborts[sp->naborts++] = (struct kvmcmo_abort_row)ABORT(VM_A, 1, READ, TRANSLATION, RW, MAP_RW, 3);
	sp->aborts[sp->naborts++] = (struct kvmcmo_abort_row)ABORT(VM_A, 0, CMO, TRANSLATION, RO, NISV, 2);
	sp->aborts[sp->naborts++] = (struct kvmcmo_abort_row)ABORT(VM_C, 0, WRITE, PERMISSION, RO, MMIO_USER, 1);
	sp->lat[sp->nlat++] = (struct kvmcmo_lat_row){ { VM_A, KVMCMO_OUTCOME_MAP_RW, 0 }, hist1(12, 8, 8 * 5000) };
	sp->lat[sp->nlat++] = (struct kvmcmo_lat_row){ { VM_C, KVMCMO_OUTCOME_MMIO_USER, 0 }, hist1(16, 1, 100000) };
	sp->dabts[sp->ndabts++] = (struct kvmcmo_dabt_row){ { VM_A, KVMCMO_DABT_USERSPACE, 0 }, 1 };
	sp->regions[sp->nregions++] = (struct kvmcmo_region_row)REGION(VM_A, 0x41000000, 1 << 20, 1, READ, MAP_RW, 8);
	sp->regions[sp->nregions++] = (struct kvmcmo_region_row)REGION(VM_A, 0x43000000, 1 << 20, 3, CMO, NISV, 2);
	sp->regions[sp->nregions++] = (struct kvmcmo_region_row)REGION(VM_C, 0x09000000, 1 << 16, -1, WRITE, MMIO_USER, 1);
}

static void spec_poll2(struct snap_spec *sp)
{
	spec_poll1(sp);
	sp->taken = S(11);
	sp->nvms = 1;   /* C gone */
	sp->vms[sp->nvms++] = (struct kvmcmo_vm)VMREC(VM_B, 100, 12, false, S(10) + 7, S(10) + 9, "web");
	sp->aborts[0].count = 9;        /* A: +4 on vCPU 0 */
	sp->aborts[sp->naborts++] = (struct kvmcmo_abort_row)ABORT(VM_B, 0, EXEC, TRANSLATION, RW, MAP_RW, 1);
	sp->lat[0].hist = hist1(12, 12, 12 * 5000);
	sp->dfaults[sp->ndfaults++] = (struct kvmcmo_dfault_row){ { VM_A, KVMCMO_KIND_CMO, KVMCMO_MEMSLOT_RO, {} },
								  hist1(14, 2, 2 * 20000) };
	sp->regions[1].count = 2;
	sp->regions[sp->nregions++] = (struct kvmcmo_region_row)REGION(VM_A, 0x50000000, 1 << 16, -1, READ, MMIO_USER, 1);
	sp->regions[sp->nregions++] = (struct kvmcmo_region_row)REGION(VM_A, 0x50010000, 1 << 16, -1, READ, MMIO_USER, 2);
	sp->map_full = 3;
}

static void spec_poll3(struct snap_spec *sp)
{
	spec_poll2(sp);
	sp->taken = S(13);
	sp->vms[0].alive = false;
	sp->vms[0].destroyed_ns = S(12);
	/* a row that shrank (deleted and made again by the kernel side):
	 * counted from zero, never backwards */
	sp->aborts[1].count = 1;
}

static void spec_poll4(struct snap_spec *sp)
{
	spec_poll3(sp);
	sp->taken = S(14);
}

static struct kd_opts test_opts(void)
{
	return (struct kd_opts){ .interval_ns = S(1), .grace_ns = S(1) + S(1) / 2,
				 .max_vms = 8, .regions = 2 };
}

static void static_facts(struct kd_model *m)
{
	snprintf(m->kernel, sizeof(m->kernel), "6.12.0-test");
	m->probes[0].function = "kvm_handle_guest_abort";
	m->probes[0].mode = "fentry";
	m->probes[1].function = "kvm_handle_guest_abort";       /* entry + exit: once */
	m->probes[1].mode = "fentry";
	m->probes[2].function = "user_mem_abort";
	m->probes[2].mode = "absent";
	m->nprobes = 3;
	m->cpu_s = 0.25;
	m->rss_bytes = 4096 * 1000;
	m->start_time_s = 1700000000;
	m->bpf_stats_enabled = true;
	m->progs[0] = (struct kvmcmo_prog_stat){ "abort_entry_fentry", 20, 40000, 3 };
	m->nprogs = 1;
}

static char *render(const struct kd_model *m, unsigned int flags)
{
	struct kd_buf b = {};

	if (kd_prom_render(m, flags, &b)) {
		kd_buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* the value of the series whose line starts with `series ` */
static long long value_of(const char *page, const char *series)
{
	size_t n = strlen(series);

	for (const char *l = page; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, series, n) && l[n] == ' ')
			return strtoll(l + n + 1, NULL, 10);
	return -1;
}

#define A_LBL "vm=\"web\",pid=\"100\""
#define B_LBL "vm=\"web#12\",pid=\"100\""
#define C_LBL "vm=\"a\\\"b\\\\c\\nd\",pid=\"300\""

TEST(model_through_four_polls)
{
	struct kd_opts o = test_opts();
	struct snap_spec sp;
	struct kd_model m;
	char *p;

	kd_model_init(&m, &o);
	static_facts(&m);

	spec_poll1(&sp);
	ASSERT_EQ(update(&m, &sp), 0, "poll 1");
	ASSERT_EQ(m.nvms, 2, "A and C tracked");
	p = render(&m, 0);
	if (!ASSERT_TRUE(p != NULL, "render 1"))
		return;
	ASSERT_EQ(value_of(p, "kvmcmo_guest_aborts_total{" A_LBL ",kind=\"read\",fault=\"translation\",memslot=\"rw\",outcome=\"map_rw\"}"),
		  8, "summed over vCPUs");
	ASSERT_EQ(value_of(p, "kvmcmo_guest_aborts_total{" C_LBL ",kind=\"write\",fault=\"permission\",memslot=\"ro\",outcome=\"mmio_user\"}"),
		  1, "hostile name escaped");
	ASSERT_TRUE(!strstr(p, "kvmcmo_cmo_aborts_per_second_count"), "no rate before a second poll");
	golden_check("prom_poll1.txt", p);
	free(p);

	spec_poll2(&sp);
	ASSERT_EQ(update(&m, &sp), 0, "poll 2");
	ASSERT_EQ(m.nvms, 3, "A, B, C");
	p = render(&m, 0);
	if (!ASSERT_TRUE(p != NULL, "render 2"))
		return;
	ASSERT_EQ(value_of(p, "kvmcmo_guest_aborts_total{" A_LBL ",kind=\"read\",fault=\"translation\",memslot=\"rw\",outcome=\"map_rw\"}"),
		  12, "A grew by 4");
	ASSERT_EQ(value_of(p, "kvmcmo_guest_aborts_total{" B_LBL ",kind=\"exec\",fault=\"translation\",memslot=\"rw\",outcome=\"map_rw\"}"),
		  1, "B: same pid and name, label made unique");
	ASSERT_EQ(value_of(p, "kvmcmo_cmo_aborts_per_second_count{" A_LBL "}"), 1, "one rate");
	ASSERT_EQ(value_of(p, "kvmcmo_cmo_aborts_per_second_bucket{" A_LBL ",le=\"0\"}"), 1,
		  "A: no CMO in poll 2");
	ASSERT_EQ(value_of(p, "kvmcmo_double_faults_total{" A_LBL ",kind=\"cmo\",memslot=\"ro\"}"), 2,
		  "double faults");
	ASSERT_EQ(value_of(p, "kvmcmo_map_full_drops_total"), 3, "map full");
	/* regions: 2 named (slot1, slot3, by count), the two windows in other */
	ASSERT_EQ(value_of(p, "kvmcmo_region_aborts_total{" A_LBL ",region=\"other\",kind=\"read\",outcome=\"mmio_user\"}"),
		  3, "windows summed in other");
	golden_check("prom_poll2.txt", p);
	free(p);

	spec_poll3(&sp);
	ASSERT_EQ(update(&m, &sp), 0, "poll 3");
	ASSERT_EQ(m.nvms, 1, "B (destroyed at 10 s) and C (gone at 11 s) expired, grace 1.5 s");
	ASSERT_EQ(m.vms_expired, 2, "two expired");
	p = render(&m, 0);
	if (!ASSERT_TRUE(p != NULL, "render 3"))
		return;
	ASSERT_EQ(value_of(p, "kvmcmo_guest_aborts_total{" A_LBL ",kind=\"read\",fault=\"translation\",memslot=\"rw\",outcome=\"map_rw\"}"),
		  13, "a shrunk row counts from zero: 12 + 1");
	ASSERT_TRUE(!strstr(p, "pid=\"300\""), "C's series are gone");
	ASSERT_EQ(value_of(p, "kvmcmo_vms{state=\"destroyed\"}"), 1, "A destroyed, in grace");
	ASSERT_TRUE(!strstr(p, "web#12"), "B's series are gone");
	ASSERT_EQ(value_of(p, "kvmcmo_abort_handling_seconds_count{outcome=\"mmio_user\"}"), 1,
		  "host-wide histograms keep expired VMs");
	free(p);

	spec_poll4(&sp);
	ASSERT_EQ(update(&m, &sp), 0, "poll 4");
	ASSERT_EQ(m.nvms, 0, "A (destroyed at 12 s) expired at 14 s");
	p = render(&m, KD_PROM_TEXTFILE);
	if (ASSERT_TRUE(p != NULL, "render 4")) {
		ASSERT_TRUE(!strstr(p, "process_"), "textfile: no process_* families");
		ASSERT_EQ(value_of(p, "kvmcmo_abort_handling_seconds_count{outcome=\"map_rw\"}"), 12,
			  "host-wide latency stays");
		golden_check("prom_poll4_textfile.txt", p);
	}
	free(p);
	kd_model_free(&m);
}

TEST(per_vm_latency)
{
	struct kd_opts o = test_opts();
	struct snap_spec sp;
	struct kd_model m;
	char *p;

	o.per_vm_latency = true;
	kd_model_init(&m, &o);
	static_facts(&m);
	spec_poll1(&sp);
	update(&m, &sp);
	spec_poll2(&sp);
	update(&m, &sp);
	p = render(&m, KD_PROM_TEXTFILE);
	if (!ASSERT_TRUE(p != NULL, "render"))
		return;
	ASSERT_EQ(value_of(p, "kvmcmo_abort_handling_seconds_count{" A_LBL ",outcome=\"map_rw\"}"),
		  12, "per VM");
	ASSERT_EQ(value_of(p, "kvmcmo_double_fault_gap_seconds_count{" A_LBL ",kind=\"cmo\",memslot=\"ro\"}"),
		  2, "gaps per VM");
	golden_check("prom_per_vm_latency.txt", p);
	free(p);
	kd_model_free(&m);
}

TEST(max_vms)
{
	struct kd_opts o = test_opts();
	struct snap_spec sp;
	struct kd_model m;
	char *p;

	o.max_vms = 1;
	kd_model_init(&m, &o);
	spec_poll1(&sp);
	update(&m, &sp);
	ASSERT_EQ(m.nvms, 1, "one tracked");
	ASSERT_EQ(m.vms[0].id, VM_A, "the first seen");
	ASSERT_EQ(m.vms_dropped, 1, "C dropped");
	spec_poll2(&sp);
	update(&m, &sp);
	ASSERT_EQ(m.vms_dropped, 2, "B dropped too, C not twice");
	p = render(&m, 0);
	if (ASSERT_TRUE(p != NULL, "render")) {
		ASSERT_EQ(value_of(p, "kvmcmo_vms_dropped_total"), 2, "in the page");
		ASSERT_TRUE(!strstr(p, "web#12") && !strstr(p, "pid=\"300\""), "dropped VMs absent");
	}
	free(p);
	kd_model_free(&m);
}

/* --max-vms 1: VM B is dropped once, whatever the kernel lists show while
 * it is destroyed (missing from one poll, listed alive and dead in the
 * next), and its kernel rows are forgotten when its grace ends, as A's */
TEST(untracked_vms)
{
	static const struct {
		__u64 taken;
		int nvms;
		struct { __u64 id; bool alive; __u64 dead; } v[3];
		size_t nuntracked;
		int nforget;
		__u64 forget;
	} t[] = {
		{ S(1), 2, { { VM_A, true, 0 }, { VM_B, true, 0 } }, 1, 0, 0 },
		{ S(2), 1, { { VM_A, true, 0 } }, 1, 0, 0 },            /* B in neither list */
		{ S(3), 3, { { VM_A, true, 0 }, { VM_B, true, 0 }, { VM_B, false, S(2) } }, 1, 0, 0 },
		{ S(4), 2, { { VM_A, true, 0 }, { VM_B, false, S(2) } }, 0, 1, VM_B },
		{ S(5), 2, { { VM_A, true, 0 }, { VM_B, false, S(2) } }, 0, 0, 0 },  /* still listed */
		{ S(6), 1, { { VM_A, false, S(5) + 1 } }, 0, 0, 0 },
		{ S(7), 1, { { VM_A, false, S(5) + 1 } }, 0, 1, VM_A },
	};
	struct kd_opts o = test_opts();
	struct kd_model m;

	o.max_vms = 1;
	kd_model_init(&m, &o);
	for (size_t i = 0; i < TEST_COUNT(t); i++) {
		struct snap_spec sp = { .taken = t[i].taken, .nvms = t[i].nvms };

		for (int v = 0; v < t[i].nvms; v++)
			sp.vms[v] = (struct kvmcmo_vm)VMREC(t[i].v[v].id, 100 + v, 5, t[i].v[v].alive,
							     S(0) + 1, t[i].v[v].dead, "vm");
		ASSERT_EQ(update(&m, &sp), 0, "poll %zu", i);
		ASSERT_EQ(m.vms_dropped, 1, "poll %zu: B dropped once", i);
		ASSERT_EQ(m.nuntracked, t[i].nuntracked, "poll %zu: untracked", i);
		ASSERT_EQ(m.nforget, (size_t)t[i].nforget, "poll %zu: forgotten", i);
		if (t[i].nforget && m.nforget)
			ASSERT_EQ(m.forget[0], t[i].forget, "poll %zu: which", i);
		ASSERT_EQ(m.nvms, (size_t)(i < 6), "poll %zu: A tracked until it expires", i);
	}
	kd_model_free(&m);
}

TEST(labels_unique_per_pid)
{
	static const struct { __u32 pid; int fd; const char *name; const char *label; } t[] = {
		{ 1, 5, "vm", "vm" },
		{ 1, 6, "vm", "vm#6" },
		{ 2, 6, "vm", "vm" },           /* another pid: no clash */
		{ 1, 6, "vm", NULL },           /* same pid, name and fd: "#<id>" */
		{ 1, -1, "other", "other" },
	};
	struct kd_opts o = test_opts();
	struct kvmcmo_snapshot s = {};
	struct kd_model m;

	kd_model_init(&m, &o);
	s.taken_ns = S(1);
	s.vms = calloc(TEST_COUNT(t), sizeof(*s.vms));
	for (size_t i = 0; i < TEST_COUNT(t); i++) {
		s.vms[i] = (struct kvmcmo_vm){ .id = 0x100 + i, .pid = t[i].pid, .fd = t[i].fd,
					       .alive = true, .first_ns = i + 1 };
		snprintf(s.vms[i].name, sizeof(s.vms[i].name), "%s", t[i].name);
	}
	s.nvms = TEST_COUNT(t);
	kd_model_update(&m, &s);
	kvmcmo_snapshot_free(&s);
	for (size_t i = 0; i < TEST_COUNT(t); i++) {
		const struct kd_vm *vm = kd_vm_find(&m, 0x100 + i);
		char want[64];

		if (!ASSERT_TRUE(vm != NULL, "vm %zu", i))
			continue;
		if (t[i].label)
			snprintf(want, sizeof(want), "%s", t[i].label);
		else
			snprintf(want, sizeof(want), "%s#%llu", t[i].name, 0x100ULL + i);
		ASSERT_STREQ(vm->label, want, "vm %zu", i);
	}
	kd_model_free(&m);
}

TEST(regions_sticky)
{
	struct kd_opts o = test_opts();
	struct snap_spec sp;
	struct kd_model m;
	char *p;

	kd_model_init(&m, &o);
	spec_poll1(&sp);
	update(&m, &sp);
	/* poll 2: the windows outgrow slot3 (1+2 vs 2): slot3 keeps its name,
	 * "other" only ever grows */
	spec_poll2(&sp);
	sp.regions[3].count = 50;
	update(&m, &sp);
	p = render(&m, 0);
	if (ASSERT_TRUE(p != NULL, "render")) {
		ASSERT_EQ(value_of(p, "kvmcmo_region_aborts_total{" A_LBL ",region=\"slot3\",kind=\"cmo\",outcome=\"nisv\"}"),
			  2, "slot3 stays named");
		ASSERT_EQ(value_of(p, "kvmcmo_region_aborts_total{" A_LBL ",region=\"other\",kind=\"read\",outcome=\"mmio_user\"}"),
			  52, "other");
	}
	free(p);
	kd_model_free(&m);
}

TEST(api_document)
{
	struct kd_opts o = test_opts();
	struct snap_spec sp;
	struct kd_model m;
	json_error_t jerr;
	json_t *j, *vm0;
	char *txt;

	kd_model_init(&m, &o);
	static_facts(&m);
	spec_poll1(&sp);
	update(&m, &sp);
	spec_poll2(&sp);
	update(&m, &sp);
	txt = kd_api_snapshot(&m);
	if (!ASSERT_TRUE(txt != NULL, "document"))
		return;
	j = json_loads(txt, 0, &jerr);
	if (!ASSERT_TRUE(j != NULL, "parses: %s", jerr.text))
		return;
	ASSERT_EQ(json_array_size(json_object_get(j, "vms")), 3, "three VMs");
	vm0 = json_array_get(json_object_get(j, "vms"), 0);
	ASSERT_STREQ(json_string_value(json_object_get(vm0, "label")), "web", "label of A");
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(j, "daemon"), "polls")), 2, "polls");
	ASSERT_TRUE(json_object_get(json_object_get(json_object_get(j, "host"), "latency_ns"), "map_rw") != NULL,
		    "host-wide latency");
	golden_check("prom_api.json", txt);
	json_decref(j);
	free(txt);
	kd_model_free(&m);
}

static const struct test tests[] = {
	TEST_ENTRY(escape),
	TEST_ENTRY(utf8_clean),
	TEST_ENTRY(durations),
	TEST_ENTRY(listen_addresses),
	TEST_ENTRY(grace_from_scrapes),
	TEST_ENTRY(model_through_four_polls),
	TEST_ENTRY(per_vm_latency),
	TEST_ENTRY(max_vms),
	TEST_ENTRY(untracked_vms),
	TEST_ENTRY(labels_unique_per_pid),
	TEST_ENTRY(regions_sticky),
	TEST_ENTRY(api_document),
};

int main(void)
{
	return test_run(tests, TEST_COUNT(tests));
}
