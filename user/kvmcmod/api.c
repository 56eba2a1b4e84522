// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * api.c - the model as the /api/v1/snapshot document: exactly the
 * `kvmcmo stat --json` shape (user/json.c, with histogram buckets, vCPUs and
 * regions) over the daemon's monotonic rows, plus per VM
 *   "label": the `vm` label of its series on /metrics,
 *   "destroyed_ns", "cmo_aborts_per_second": {"count", "sum", "buckets":
 *                   [{"le", "count"}] (cumulative, last le "+Inf")},
 * and at the top
 *   "host": {"latency_ns": {outcome: HIST}, "double_fault_gap_ns":
 *            [{"kind", "memslot", HIST...}]}  (every VM, never dropped),
 *   "daemon": {"version", "polls", "poll_errors", "vms_dropped",
 *              "vms_expired", "grace_s", "interval_s"},
 *   "programs": [{"name", "run_cnt", "run_time_ns",
 *                 "recursion_misses"}].
 */
#include <stdlib.h>
#include <string.h>

#include "kvmcmod.h"

static json_t *fhist_json(const struct kd_fhist *h, const double *bounds, int nb)
{
	json_t *o = json_object(), *b = json_array();
	__u64 cum = 0;

	for (int i = 0; i <= nb; i++) {
		cum += h->buckets[i];
		json_array_append_new(b, json_pack("{s:o, s:I}", "le",
			i < nb ? json_real(bounds[i]) : json_string("+Inf"), "count", (json_int_t)cum));
	}
	json_object_set_new(o, "count", json_integer((json_int_t)h->count));
	json_object_set_new(o, "sum", json_real(h->sum));
	json_object_set_new(o, "buckets", b);
	return o;
}

char *kd_api_snapshot(const struct kd_model *m)
{
	struct kvmcmo_snapshot view = m->acc;
	json_t *root, *vms, *host, *lat, *gap, *progs;
	char *txt = NULL;

	view.vms = calloc(m->nvms + 1, sizeof(*view.vms));
	if (!view.vms)
		return NULL;
	view.nvms = m->nvms;
	view.taken_ns = m->last_poll_ns;
	memcpy(view.stats, m->stats, sizeof(view.stats));
	for (size_t i = 0; i < m->nvms; i++) {
		struct kvmcmo_vm *v = &view.vms[i];
		const struct kd_vm *vm = &m->vms[i];

		v->id = vm->id;
		v->pid = vm->pid;
		v->fd = vm->fd;
		v->alive = vm->alive;
		v->first_ns = vm->first_ns;
		v->destroyed_ns = vm->destroyed_ns;
		snprintf(v->name, sizeof(v->name), "%s", vm->name);
	}
	root = kvmcmo_snapshot_json(&view, KVMCMO_JSON_HIST | KVMCMO_JSON_VCPUS |
				    KVMCMO_JSON_REGIONS);
	free(view.vms);
	if (!root)
		return NULL;

	/* one element per VM, in view.vms order (user/json.c) */
	vms = json_object_get(root, "vms");
	for (size_t i = 0; i < m->nvms && i < json_array_size(vms); i++) {
		json_t *o = json_array_get(vms, i);
		const struct kd_vm *vm = &m->vms[i];

		json_object_set_new(o, "label", json_string(vm->label));
		json_object_set_new(o, "destroyed_ns", json_integer((json_int_t)vm->destroyed_ns));
		json_object_set_new(o, "cmo_aborts_per_second",
				    fhist_json(&vm->rate, kd_rate_bounds, KD_RATE_BUCKETS));
	}

	host = json_object();
	lat = json_object();
	gap = json_array();
	for (int o = 0; o < KVMCMO_OUTCOME__COUNT; o++)
		if (m->host_lat[o].count)
			json_object_set_new(lat, kvmcmo_outcome_label[o],
					    kvmcmo_hist_json(&m->host_lat[o]));
	for (int k = 0; k < KVMCMO_KIND__COUNT; k++)
		for (int s = 0; s < KVMCMO_MEMSLOT__COUNT; s++) {
			json_t *h;

			if (!m->host_gap[k][s].count)
				continue;
			h = kvmcmo_hist_json(&m->host_gap[k][s]);
			json_object_set_new(h, "kind", json_string(kvmcmo_kind_label[k]));
			json_object_set_new(h, "memslot", json_string(kvmcmo_memslot_label[s]));
			json_array_append_new(gap, h);
		}
	json_object_set_new(host, "latency_ns", lat);
	json_object_set_new(host, "double_fault_gap_ns", gap);
	json_object_set_new(root, "host", host);

	json_object_set_new(root, "daemon", json_pack("{s:s, s:I, s:I, s:I, s:I, s:f, s:f}",
		"version", KVMCMO_VERSION,
		"polls", (json_int_t)m->polls,
		"poll_errors", (json_int_t)m->poll_errors,
		"vms_dropped", (json_int_t)m->vms_dropped,
		"vms_expired", (json_int_t)m->vms_expired,
		"grace_s", (double)kd_grace_ns(m) / 1e9,
		"interval_s", (double)m->opts.interval_ns / 1e9));

	progs = json_array();
	for (int i = 0; i < m->nprogs; i++)
		json_array_append_new(progs, json_pack("{s:s, s:I, s:I, s:I}",
			"name", m->progs[i].name,
			"run_cnt", (json_int_t)m->progs[i].run_cnt,
			"run_time_ns", (json_int_t)m->progs[i].run_time_ns,
			"recursion_misses", (json_int_t)m->progs[i].recursion_misses));
	json_object_set_new(root, "programs", progs);

	txt = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return txt;
}
