// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * prom.c - the model as a Prometheus text exposition page (format 0.0.4).
 *
 * A pure function of the model: no clock, no I/O, so the unit tests
 * (tests/unit/test_prom*.c) pin every line with golden pages.  Choices a
 * scraper can rely on:
 *  - HELP and TYPE once per family, families in a fixed order, series of
 *    a family grouped; label values escaped (\\, \", \n) and valid UTF-8;
 *  - counters are integers and never go backwards (poll.c); a family of a
 *    VM disappears with the VM after its grace period (vms.c);
 *  - per-VM series carry {vm, pid}; `vm` is unique per pid (vms.c);
 *  - log2 latency histograms have the 40 buckets of the kernel side,
 *    le = 2^(i+1) ns in seconds: "le" is the bucket's exclusive upper
 *    bound (a value of exactly 2^(i+1) ns is counted in the next bucket);
 *  - a histogram appears once it has an observation, and keeps every
 *    bucket from then on; +Inf and _count are equal.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvmcmod.h"

#define NK KVMCMO_KIND__COUNT
#define NF KVMCMO_FAULT__COUNT
#define NM KVMCMO_MEMSLOT__COUNT
#define NO KVMCMO_OUTCOME__COUNT

/* ---- buffer --------------------------------------------------------------------- */

static bool buf_grow(struct kd_buf *b, size_t more)
{
	size_t cap;
	char *d;

	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	d = realloc(b->data, cap);
	if (!d) {
		b->oom = true;
		return false;
	}
	b->data = d;
	b->cap = cap;
	return true;
}

void kd_buf_put(struct kd_buf *b, const char *s, size_t n)
{
	if (!buf_grow(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = 0;
}

void kd_buf_printf(struct kd_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!buf_grow(b, 256))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (!buf_grow(b, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void kd_buf_free(struct kd_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void kd_prom_escape(struct kd_buf *b, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" :
				  *s == '\n' ? "\\n" : NULL;

		if (!esc)
			continue;
		kd_buf_put(b, run, (size_t)(s - run));
		kd_buf_put(b, esc, 2);
		run = s + 1;
	}
	kd_buf_put(b, run, (size_t)(s - run));
}

/* a string literal */
#define PUTS(b, lit) kd_buf_put((b), (lit), sizeof(lit) - 1)

/* ---- pieces ------------------------------------------------------------------------ */

static void family(struct kd_buf *b, const char *name, const char *type, const char *help)
{
	kd_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* `vm="...",pid="..."` */
static void vm_labels(struct kd_buf *b, const struct kd_vm *vm)
{
	PUTS(b, "vm=\"");
	kd_prom_escape(b, vm->label);
	kd_buf_printf(b, "\",pid=\"%u\"", vm->pid);
}

/* le of log2 slot i: 2^(i+1) ns in seconds */
static void log2_le(char *buf, size_t len, int i)
{
	snprintf(buf, len, "%.10g", ldexp(1.0, i + 1) / 1e9);
}

/* a log2-ns histogram; `labels` is the series' labels before le (may be
 * empty), already escaped */
static void hist_log2(struct kd_buf *b, const char *name, const char *labels,
		      const struct kvmcmo_hist *h)
{
	const char *sep = *labels ? "," : "";
	__u64 cum = 0;
	char le[32];

	for (int i = 0; i < KVMCMO_HIST_SLOTS; i++) {
		cum += h->slots[i];
		log2_le(le, sizeof(le), i);
		kd_buf_printf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, sep, le,
			      (unsigned long long)cum);
	}
	if (h->count > cum)
		cum = h->count;
	kd_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
		      (unsigned long long)cum);
	kd_buf_printf(b, "%s_sum%s%s%s %.9f\n", name, *labels ? "{" : "", labels,
		      *labels ? "}" : "", (double)h->sum_ns / 1e9);
	kd_buf_printf(b, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels,
		      *labels ? "}" : "", (unsigned long long)cum);
}

/* a fixed-bounds histogram */
static void hist_fixed(struct kd_buf *b, const char *name, const char *labels,
		       const struct kd_fhist *h, const double *bounds, int nb)
{
	const char *sep = *labels ? "," : "";
	__u64 cum = 0;

	for (int i = 0; i <= nb; i++) {
		cum += h->buckets[i];
		if (i < nb)
			kd_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
				      bounds[i], (unsigned long long)cum);
		else
			kd_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels,
				      sep, (unsigned long long)cum);
	}
	kd_buf_printf(b, "%s_sum%s%s%s %.9g\n", name, *labels ? "{" : "", labels,
		      *labels ? "}" : "", h->sum);
	kd_buf_printf(b, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels,
		      *labels ? "}" : "", (unsigned long long)h->count);
}

/* the escaped `vm=..,pid=..` of a VM, in a scratch buffer */
static const char *vm_label_str(struct kd_buf *s, const struct kd_vm *vm)
{
	s->len = 0;
	vm_labels(s, vm);
	return s->oom ? "" : s->data;
}

/*
 * Rows of one VM are contiguous in every sorted row array (the key starts
 * with the VM id); walk them group by group.
 */
#define FOR_EACH_VM_GROUP(rows, n, lo, hi)                                       \
	for (size_t lo = 0, hi = 0; lo < (n); lo = hi)                           \
		if ((hi = group_end((rows), (n), lo, sizeof(*(rows)))), true)

static size_t group_end(const void *rows, size_t n, size_t lo, size_t rsz)
{
	const char *r = rows;
	size_t hi = lo + 1;

	while (hi < n && !memcmp(r + hi * rsz, r + lo * rsz, sizeof(__u64)))
		hi++;
	return hi;
}

/* ---- families ------------------------------------------------------------------------ */

static void aborts(struct kd_buf *b, const struct kd_model *m)
{
	__u64 (*sum)[NF][NM][NO] = calloc(NK, sizeof(*sum));
	const struct kvmcmo_abort_row *r = m->acc.aborts;

	family(b, "kvmcmo_guest_aborts_total", "counter",
	       "Stage-2 guest aborts (calls of kvm_handle_guest_abort) per VM, by "
	       "kind, fault, memslot and outcome.");
	if (!sum) {
		b->oom = true;
		return;
	}
	FOR_EACH_VM_GROUP(r, m->acc.naborts, lo, hi) {
		const struct kd_vm *vm = kd_vm_find(m, r[lo].key.vm);

		if (!vm)
			continue;
		memset(sum, 0, NK * sizeof(*sum));
		for (size_t i = lo; i < hi; i++) {
			const struct kvmcmo_abort_key *k = &r[i].key;

			if (k->kind < NK && k->fault < NF && k->memslot < NM && k->outcome < NO)
				sum[k->kind][k->fault][k->memslot][k->outcome] += r[i].count;
		}
		for (int a = 0; a < NK; a++)
		for (int f = 0; f < NF; f++)
		for (int s = 0; s < NM; s++)
		for (int o = 0; o < NO; o++) {
			if (!sum[a][f][s][o])
				continue;
			PUTS(b, "kvmcmo_guest_aborts_total{");
			vm_labels(b, vm);
			kd_buf_printf(b, ",kind=\"%s\",fault=\"%s\",memslot=\"%s\",outcome=\"%s\"} %llu\n",
				      kvmcmo_kind_label[a], kvmcmo_fault_label[f],
				      kvmcmo_memslot_label[s], kvmcmo_outcome_label[o],
				      (unsigned long long)sum[a][f][s][o]);
		}
	}
	free(sum);
}

/* every tracked VM has both sources, zero or not */
static void dabts(struct kd_buf *b, const struct kd_model *m)
{
	family(b, "kvmcmo_dabt_injections_total", "counter",
	       "Data aborts injected into the guest, per VM, by source (abort: by KVM "
	       "while handling an abort; userspace: by the VMM through KVM_SET_VCPU_EVENTS).");
	for (size_t v = 0; v < m->nvms; v++) {
		const struct kd_vm *vm = &m->vms[v];
		__u64 n[KVMCMO_DABT__COUNT] = {};

		for (size_t i = 0; i < m->acc.ndabts; i++)
			if (m->acc.dabts[i].key.vm == vm->id &&
			    m->acc.dabts[i].key.source < KVMCMO_DABT__COUNT)
				n[m->acc.dabts[i].key.source] += m->acc.dabts[i].count;
		for (int s = 0; s < KVMCMO_DABT__COUNT; s++) {
			PUTS(b, "kvmcmo_dabt_injections_total{");
			vm_labels(b, vm);
			kd_buf_printf(b, ",source=\"%s\"} %llu\n", kvmcmo_dabt_label[s],
				      (unsigned long long)n[s]);
		}
	}
}

static void dfaults(struct kd_buf *b, const struct kd_model *m)
{
	const struct kvmcmo_dfault_row *r = m->acc.dfaults;

	family(b, "kvmcmo_double_faults_total", "counter",
	       "A CMO or S1PTW translation fault followed by a permission fault at the "
	       "same vCPU, page and PC, per VM.");
	for (size_t i = 0; i < m->acc.ndfaults; i++) {
		const struct kd_vm *vm = kd_vm_find(m, r[i].key.vm);

		if (!vm || r[i].key.kind >= NK || r[i].key.memslot >= NM || !r[i].hist.count)
			continue;
		PUTS(b, "kvmcmo_double_faults_total{");
		vm_labels(b, vm);
		kd_buf_printf(b, ",kind=\"%s\",memslot=\"%s\"} %llu\n",
			      kvmcmo_kind_label[r[i].key.kind],
			      kvmcmo_memslot_label[r[i].key.memslot],
			      (unsigned long long)r[i].hist.count);
	}
}

struct region_sum {
	int named;              /* index in vm->regions, or -1: "other" */
	int kind, outcome;
	__u64 count;
};

static int cmp_region_sum(const void *a, const void *b)
{
	const struct region_sum *x = a, *y = b;
	/* named regions in naming order, "other" last */
	unsigned int nx = (unsigned int)x->named, ny = (unsigned int)y->named;

	if (nx != ny)
		return nx < ny ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind - y->kind;
	return x->outcome - y->outcome;
}

static void regions(struct kd_buf *b, const struct kd_model *m)
{
	const struct kvmcmo_region_row *r = m->acc.regions;

	family(b, "kvmcmo_region_aborts_total", "counter",
	       "Guest aborts per VM by region (a memslot \"slotN\", or outside memslots a "
	       "64 KiB IPA window \"0x...\"), kind and outcome; regions past the named "
	       "ones per VM are summed as \"other\".");
	FOR_EACH_VM_GROUP(r, m->acc.nregions, lo, hi) {
		const struct kd_vm *vm = kd_vm_find(m, r[lo].key.vm);
		struct region_sum *s;
		size_t ns = 0;

		if (!vm)
			continue;
		s = calloc(hi - lo, sizeof(*s));
		if (!s) {
			b->oom = true;
			return;
		}
		for (size_t i = lo; i < hi; i++) {
			char l[KD_REGION_LABEL_LEN];
			int named = -1;
			size_t k;

			if (r[i].key.kind >= NK || r[i].key.outcome >= NO)
				continue;
			kvmcmo_region_name(&r[i].key, l, sizeof(l));
			for (int j = 0; j < vm->nregions; j++)
				if (!strcmp(vm->regions[j], l))
					named = j;
			for (k = 0; k < ns; k++)
				if (s[k].named == named && s[k].kind == r[i].key.kind &&
				    s[k].outcome == r[i].key.outcome)
					break;
			if (k == ns)
				s[ns++] = (struct region_sum){ named, r[i].key.kind,
							       r[i].key.outcome, 0 };
			s[k].count += r[i].count;
		}
		qsort(s, ns, sizeof(*s), cmp_region_sum);
		for (size_t k = 0; k < ns; k++) {
			PUTS(b, "kvmcmo_region_aborts_total{");
			vm_labels(b, vm);
			kd_buf_printf(b, ",region=\"%s\",kind=\"%s\",outcome=\"%s\"} %llu\n",
				      s[k].named >= 0 ? vm->regions[s[k].named] : "other",
				      kvmcmo_kind_label[s[k].kind],
				      kvmcmo_outcome_label[s[k].outcome],
				      (unsigned long long)s[k].count);
		}
		free(s);
	}
}

static void rates(struct kd_buf *b, struct kd_buf *scratch, const struct kd_model *m)
{
	family(b, "kvmcmo_cmo_aborts_per_second", "histogram",
	       "CMO aborts per second of each poll interval, per VM: how bursty each VM is.");
	for (size_t v = 0; v < m->nvms; v++)
		if (m->vms[v].rate.count)
			hist_fixed(b, "kvmcmo_cmo_aborts_per_second",
				   vm_label_str(scratch, &m->vms[v]), &m->vms[v].rate,
				   kd_rate_bounds, KD_RATE_BUCKETS);
}

static void latency(struct kd_buf *b, struct kd_buf *scratch, const struct kd_model *m)
{
	static const char name[] = "kvmcmo_abort_handling_seconds";
	char l[KD_LABEL_LEN * 2 + 64];

	family(b, name, "histogram",
	       m->opts.per_vm_latency ?
	       "Time in kvm_handle_guest_abort per VM, by outcome (log2 buckets)." :
	       "Time in kvm_handle_guest_abort on this host, by outcome (log2 buckets).");
	if (!m->opts.per_vm_latency) {
		for (int o = 0; o < NO; o++) {
			if (!m->host_lat[o].count)
				continue;
			snprintf(l, sizeof(l), "outcome=\"%s\"", kvmcmo_outcome_label[o]);
			hist_log2(b, name, l, &m->host_lat[o]);
		}
		return;
	}
	for (size_t i = 0; i < m->acc.nlat; i++) {
		const struct kvmcmo_lat_row *r = &m->acc.lat[i];
		const struct kd_vm *vm = kd_vm_find(m, r->key.vm);

		if (!vm || r->key.outcome >= NO || !r->hist.count)
			continue;
		snprintf(l, sizeof(l), "%s,outcome=\"%s\"", vm_label_str(scratch, vm),
			 kvmcmo_outcome_label[r->key.outcome]);
		hist_log2(b, name, l, &r->hist);
	}
}

static void gaps(struct kd_buf *b, struct kd_buf *scratch, const struct kd_model *m)
{
	static const char name[] = "kvmcmo_double_fault_gap_seconds";
	char l[KD_LABEL_LEN * 2 + 64];

	family(b, name, "histogram",
	       "Time between the two faults of a double fault, by kind and memslot "
	       "(log2 buckets).");
	if (!m->opts.per_vm_latency) {
		for (int k = 0; k < NK; k++)
			for (int s = 0; s < NM; s++) {
				if (!m->host_gap[k][s].count)
					continue;
				snprintf(l, sizeof(l), "kind=\"%s\",memslot=\"%s\"",
					 kvmcmo_kind_label[k], kvmcmo_memslot_label[s]);
				hist_log2(b, name, l, &m->host_gap[k][s]);
			}
		return;
	}
	for (size_t i = 0; i < m->acc.ndfaults; i++) {
		const struct kvmcmo_dfault_row *r = &m->acc.dfaults[i];
		const struct kd_vm *vm = kd_vm_find(m, r->key.vm);

		if (!vm || r->key.kind >= NK || r->key.memslot >= NM || !r->hist.count)
			continue;
		snprintf(l, sizeof(l), "%s,kind=\"%s\",memslot=\"%s\"", vm_label_str(scratch, vm),
			 kvmcmo_kind_label[r->key.kind], kvmcmo_memslot_label[r->key.memslot]);
		hist_log2(b, name, l, &r->hist);
	}
}

static void counter1(struct kd_buf *b, const char *name, const char *help, __u64 v)
{
	family(b, name, "counter", help);
	kd_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void self(struct kd_buf *b, const struct kd_model *m, unsigned int flags)
{
	size_t alive = 0;

	for (size_t i = 0; i < m->nvms; i++)
		alive += m->vms[i].alive;
	family(b, "kvmcmo_vms", "gauge",
	       "VMs with series on this page: alive, or destroyed and within the grace period.");
	kd_buf_printf(b, "kvmcmo_vms{state=\"alive\"} %zu\nkvmcmo_vms{state=\"destroyed\"} %zu\n",
		      alive, m->nvms - alive);
	counter1(b, "kvmcmo_vms_dropped_total",
		 "VMs never tracked because --max-vms VMs were tracked already.", m->vms_dropped);
	counter1(b, "kvmcmo_vms_expired_total",
		 "Destroyed VMs whose series were removed after the grace period.", m->vms_expired);
	family(b, "kvmcmo_vm_grace_seconds", "gauge",
	       "How long a destroyed VM's series stay (--vm-grace, else two scrape intervals).");
	kd_buf_printf(b, "kvmcmo_vm_grace_seconds %.3f\n", (double)kd_grace_ns(m) / 1e9);

	family(b, "kvmcmo_build_info", "gauge", "kvmcmod version and the running kernel.");
	PUTS(b, "kvmcmo_build_info{version=\"");
	kd_prom_escape(b, KVMCMO_VERSION);
	PUTS(b, "\",kernel=\"");
	kd_prom_escape(b, m->kernel);
	PUTS(b, "\"} 1\n");

	family(b, "kvmcmo_probe_info", "gauge",
	       "Kernel functions and tracepoints kvmcmo looked for and how each is probed "
	       "(tracepoint, fentry, kprobe, absent or unused).");
	for (int i = 0; i < m->nprobes; i++) {
		bool dup = false;

		for (int j = 0; j < i; j++)
			dup |= !strcmp(m->probes[j].function, m->probes[i].function) &&
			       !strcmp(m->probes[j].mode, m->probes[i].mode);
		if (dup)
			continue;
		PUTS(b, "kvmcmo_probe_info{function=\"");
		kd_prom_escape(b, m->probes[i].function);
		PUTS(b, "\",mode=\"");
		kd_prom_escape(b, m->probes[i].mode);
		PUTS(b, "\"} 1\n");
	}

	if (m->bpf_stats_enabled) {
		family(b, "kvmcmo_bpf_program_runs_total", "counter",
		       "Runs of each kvmcmo BPF program (kernel.bpf_stats_enabled=1).");
		for (int i = 0; i < m->nprogs; i++)
			kd_buf_printf(b, "kvmcmo_bpf_program_runs_total{program=\"%s\"} %llu\n",
				      m->progs[i].name, (unsigned long long)m->progs[i].run_cnt);
		family(b, "kvmcmo_bpf_program_run_seconds_total", "counter",
		       "Time spent in each kvmcmo BPF program (kernel.bpf_stats_enabled=1).");
		for (int i = 0; i < m->nprogs; i++)
			kd_buf_printf(b, "kvmcmo_bpf_program_run_seconds_total{program=\"%s\"} %.9f\n",
				      m->progs[i].name, (double)m->progs[i].run_time_ns / 1e9);
	}
	/* not behind bpf_stats_enabled: the kernel always counts these, and
	 * each one is an abort a kprobe program did not see (kvmcmod(8)) */
	family(b, "kvmcmo_bpf_program_misses_total", "counter",
	       "Runs of each kvmcmo BPF program the kernel skipped: another BPF program "
	       "was running on that CPU (5.12+).");
	for (int i = 0; i < m->nprogs; i++)
		kd_buf_printf(b, "kvmcmo_bpf_program_misses_total{program=\"%s\"} %llu\n",
			      m->progs[i].name, (unsigned long long)m->progs[i].recursion_misses);
	counter1(b, "kvmcmo_map_full_drops_total",
		 "Events the BPF side could not count because a map was full.",
		 m->stats[KVMCMO_STAT_MAP_FULL]);
	family(b, "kvmcmo_probe_anomalies_total", "counter",
	       "Other events the BPF side could not count, by reason.");
	for (int i = 0; i < KVMCMO_STAT__COUNT; i++)
		if (i != KVMCMO_STAT_MAP_FULL)
			kd_buf_printf(b, "kvmcmo_probe_anomalies_total{reason=\"%s\"} %llu\n",
				      kvmcmo_stat_label[i], (unsigned long long)m->stats[i]);

	{
		/* the order of kd_model.kernel_rows; capacities from bpf/kvmcmo.h */
		static const char *const name[] = { "aborts", "latency", "dabts", "dfaults", "regions" };
		static const unsigned long cap[] = {
			KVMCMO_MAX_ABORT_KEYS, KVMCMO_MAX_LAT_KEYS,
			KVMCMO_MAX_VMS * KVMCMO_DABT__COUNT, KVMCMO_MAX_DFAULT_KEYS,
			KVMCMO_MAX_REGION_KEYS,
		};

		family(b, "kvmcmo_kernel_map_rows", "gauge",
		       "Rows in each kernel map at the last poll; destroyed VMs' rows leave "
		       "after the grace period.");
		for (int i = 0; i < 5; i++)
			kd_buf_printf(b, "kvmcmo_kernel_map_rows{map=\"%s\"} %zu\n", name[i],
				      m->kernel_rows[i]);
		family(b, "kvmcmo_kernel_map_capacity", "gauge",
		       "Rows each kernel map can hold; a full map counts map_full drops.");
		for (int i = 0; i < 5; i++)
			kd_buf_printf(b, "kvmcmo_kernel_map_capacity{map=\"%s\"} %lu\n", name[i],
				      cap[i]);
	}
	counter1(b, "kvmcmo_polls_total", "Reads of the kernel maps.", m->polls);
	counter1(b, "kvmcmo_poll_errors_total", "Reads of the kernel maps that failed.",
		 m->poll_errors);
	family(b, "kvmcmo_poll_cpu_seconds_total", "counter",
	       "CPU time the poll loop spent reading the maps and updating the model.");
	kd_buf_printf(b, "kvmcmo_poll_cpu_seconds_total %.6f\n", m->poll_cpu_s);
	family(b, "kvmcmo_poll_duration_seconds", "histogram",
	       "Wall time of one poll (read the maps, update the model).");
	hist_fixed(b, "kvmcmo_poll_duration_seconds", "", &m->poll_dur, kd_dur_bounds,
		   KD_DUR_BUCKETS);
	family(b, "kvmcmo_render_duration_seconds", "histogram",
	       "Wall time of rendering one page (before this one).");
	hist_fixed(b, "kvmcmo_render_duration_seconds", "", &m->render_dur, kd_dur_bounds,
		   KD_DUR_BUCKETS);

	if (flags & KD_PROM_TEXTFILE)
		return;
	family(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
	kd_buf_printf(b, "process_cpu_seconds_total %.2f\n", m->cpu_s);
	family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	kd_buf_printf(b, "process_resident_memory_bytes %llu\n", (unsigned long long)m->rss_bytes);
	family(b, "process_start_time_seconds", "gauge",
	       "Start time of the process since unix epoch in seconds.");
	kd_buf_printf(b, "process_start_time_seconds %.2f\n", m->start_time_s);
}

int kd_prom_render(const struct kd_model *m, unsigned int flags, struct kd_buf *out)
{
	struct kd_buf scratch = {};

	out->len = 0;
	out->oom = false;
	aborts(out, m);
	dabts(out, m);
	dfaults(out, m);
	regions(out, m);
	rates(out, &scratch, m);
	latency(out, &scratch, m);
	gaps(out, &scratch, m);
	self(out, m, flags);
	if (scratch.oom)
		out->oom = true;
	kd_buf_free(&scratch);
	return out->oom ? -ENOMEM : 0;
}
