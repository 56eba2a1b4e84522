// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * vms.c - which VMs the daemon tracks.
 *
 * A VM is tracked from the first poll that sees it, if it is new then
 * (not in the previous poll's VM list) and --max-vms leaves
 * room; otherwise it is counted in kvmcmo_vms_dropped_total once, and never
 * tracked later (its counters would start in the middle): the untracked
 * list remembers it, since a VM being destroyed can be missing from one
 * poll's lists, or be in both (the reader takes the live and the dead list
 * one after the other).  A destroyed VM stays for the grace period after
 * its destruction (so the last scrapes see its final values), then its
 * series disappear; then, tracked or not, its rows leave the kernel maps
 * (the poll loop calls kvmcmo_forget_vm()).
 *
 * The `vm` label is the VM's name (QEMU -name, kvmtool --name, else the
 * VMM's comm), made unique among the tracked VMs of the same VMM pid by
 * "#<fd>" (then "#<id>") when the plain name is taken: a VMM may run
 * several VMs.  A label is chosen once and kept while the VM is tracked,
 * so series never change identity; SIGHUP re-resolves names.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvmcmod.h"

/* bsearch() by id: struct kd_vm and struct kd_untracked both start with it */
_Static_assert(offsetof(struct kd_vm, id) == 0, "kd_vm starts with its id");
_Static_assert(offsetof(struct kd_untracked, id) == 0, "kd_untracked starts with its id");

static int cmp_id_first(const void *key, const void *elem)
{
	__u64 x = *(const __u64 *)key, y;

	memcpy(&y, elem, sizeof(y));
	return x < y ? -1 : x > y;
}

struct kd_vm *kd_vm_find(const struct kd_model *m, __u64 id)
{
	return m->nvms ? bsearch(&id, m->vms, m->nvms, sizeof(*m->vms), cmp_id_first) : NULL;
}

static struct kd_untracked *untracked_find(const struct kd_model *m, __u64 id)
{
	return m->nuntracked ? bsearch(&id, m->untracked, m->nuntracked, sizeof(*m->untracked),
				       cmp_id_first) : NULL;
}

/* ---- names ---------------------------------------------------------------- */

static bool label_taken(const struct kd_model *m, const struct kd_vm *self,
			__u32 pid, const char *label)
{
	for (size_t i = 0; i < m->nvms; i++)
		if (&m->vms[i] != self && m->vms[i].pid == pid &&
		    !strcmp(m->vms[i].label, label))
			return true;
	return false;
}

static void choose_label(const struct kd_model *m, struct kd_vm *vm)
{
	char l[KD_LABEL_LEN];

	snprintf(l, sizeof(l), "%s", vm->name);
	if (label_taken(m, vm, vm->pid, l) && vm->fd >= 0)
		snprintf(l, sizeof(l), "%s#%d", vm->name, vm->fd);
	if (label_taken(m, vm, vm->pid, l))
		snprintf(l, sizeof(l), "%s#%llu", vm->name, (unsigned long long)vm->id);
	memcpy(vm->label, l, sizeof(l));
}

/* ---- grace ------------------------------------------------------------------- */

void kd_note_scrape(struct kd_model *m, __u64 now_ns)
{
	size_t n = sizeof(m->scrape_ns) / sizeof(m->scrape_ns[0]);

	m->scrape_ns[m->nscrapes % n] = now_ns;
	m->nscrapes++;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* two scrape intervals: the median gap between the last scrapes (at most
 * 8 kept); without two scrapes yet, two minutes (Prometheus's default
 * scrape interval is one) */
__u64 kd_grace_ns(const struct kd_model *m)
{
	size_t cap = sizeof(m->scrape_ns) / sizeof(m->scrape_ns[0]);
	size_t n = m->nscrapes < cap ? m->nscrapes : cap, k = 0;
	__u64 t[8], gaps[8];

	if (m->opts.grace_ns)
		return m->opts.grace_ns;
	if (n < 2)
		return KD_NO_SCRAPE_GRACE_NS;
	memcpy(t, m->scrape_ns, n * sizeof(t[0]));
	qsort(t, n, sizeof(t[0]), cmp_u64);
	for (size_t i = 1; i < n; i++)
		gaps[k++] = t[i] - t[i - 1];
	qsort(gaps, k, sizeof(gaps[0]), cmp_u64);
	/* never shorter than a poll: the final values must reach a page */
	return 2 * (gaps[k / 2] > m->opts.interval_ns ? gaps[k / 2] : m->opts.interval_ns);
}

/* ---- the update ---------------------------------------------------------------- */

/* sorted insert; -ENOMEM */
static int untracked_add(struct kd_model *m, const struct kvmcmo_vm *sv, __u64 now)
{
	struct kd_untracked *u = realloc(m->untracked, (m->nuntracked + 1) * sizeof(*u));
	size_t i;

	if (!u)
		return -ENOMEM;
	m->untracked = u;
	for (i = m->nuntracked; i > 0 && u[i - 1].id > sv->id; i--)
		u[i] = u[i - 1];
	u[i] = (struct kd_untracked){ sv->id, sv->alive,
				      sv->alive ? 0 : sv->destroyed_ns ? sv->destroyed_ns : now };
	m->nuntracked++;
	return 0;
}

/* a VM whose grace ended: its kernel rows go at the end of this poll */
static void forget_later(struct kd_model *m, __u64 id)
{
	__u64 *f = realloc(m->forget, (m->nforget + 1) * sizeof(*f));

	/* no memory: the rows stay in the kernel, nothing is wrong */
	if (f) {
		m->forget = f;
		m->forget[m->nforget++] = id;
	}
}

/* alive -> destroyed, as the snapshot tells (sv NULL: in neither list) */
static void note_destroyed(bool *alive, __u64 *destroyed_ns, const struct kvmcmo_vm *sv,
			   __u64 now)
{
	if (sv && !sv->alive && *alive) {
		*alive = false;
		*destroyed_ns = sv->destroyed_ns ? sv->destroyed_ns : now;
	} else if (!sv && *alive) {
		*alive = false;
		*destroyed_ns = now;
	}
}

void kd_vm_free(struct kd_vm *vm)
{
	free(vm->regions);
	vm->regions = NULL;
	vm->nregions = 0;
}

static int cmp_vm_id(const void *a, const void *b)
{
	const struct kd_vm *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int kd_vms_update(struct kd_model *m, const struct kvmcmo_snapshot *s)
{
	__u64 grace = kd_grace_ns(m), *seen;
	size_t keep = 0, cap = m->nvms + s->nvms, nseen = m->have_prev ? m->prev.nvms : 0;
	struct kd_vm *vms;
	int dropped = 0;

	vms = realloc(m->vms, (cap + 1) * sizeof(*vms));
	if (!vms)
		return -ENOMEM;
	m->vms = vms;
	/* the VMs of the previous poll, tracked or not: only the others are new */
	seen = malloc((nseen + 1) * sizeof(*seen));
	if (!seen)
		return -ENOMEM;
	for (size_t i = 0; i < nseen; i++)
		seen[i] = m->prev.vms[i].id;
	qsort(seen, nseen, sizeof(*seen), cmp_u64);

	/* refresh what we know; a VM missing from both kernel lists (the
	 * dead list is LRU) is destroyed as far as we can tell */
	for (size_t i = 0; i < m->nvms; i++) {
		struct kd_vm *vm = &m->vms[i];

		vm->fresh = false;
		vm->cmo_inc = 0;
		note_destroyed(&vm->alive, &vm->destroyed_ns, kvmcmo_snapshot_vm(s, vm->id),
			       s->taken_ns);
	}
	for (size_t i = 0; i < m->nuntracked; i++) {
		struct kd_untracked *u = &m->untracked[i];

		note_destroyed(&u->alive, &u->destroyed_ns, kvmcmo_snapshot_vm(s, u->id),
			       s->taken_ns);
	}
	/* new VMs, in first-seen order (the snapshot's order) */
	for (size_t i = 0; i < s->nvms; i++) {
		const struct kvmcmo_vm *sv = &s->vms[i];
		struct kd_vm *vm;

		if (bsearch(&sv->id, seen, nseen, sizeof(*seen), cmp_u64))
			continue;       /* not new: tracked already, or never */
		if (kd_vm_find(m, sv->id) || untracked_find(m, sv->id))
			continue;
		if (m->nvms >= (size_t)m->opts.max_vms) {
			if (untracked_add(m, sv, s->taken_ns)) {
				free(seen);
				return -ENOMEM;
			}
			dropped++;
			continue;
		}
		vm = &m->vms[m->nvms];
		memset(vm, 0, sizeof(*vm));
		vm->id = sv->id;
		vm->pid = sv->pid;
		vm->fd = sv->fd;
		vm->alive = sv->alive;
		vm->first_ns = sv->first_ns;
		vm->fresh = true;
		vm->destroyed_ns = sv->alive ? 0 : (sv->destroyed_ns ? sv->destroyed_ns : s->taken_ns);
		kvmcmo_utf8_clean(vm->name, sizeof(vm->name), sv->name, sizeof(sv->name));
		choose_label(m, vm);
		m->nvms++;
		/* keep the array sorted for kd_vm_find() */
		qsort(m->vms, m->nvms, sizeof(*m->vms), cmp_vm_id);
	}
	/* grace: the destroyed VMs whose time is up go */
	m->nforget = 0;
	for (size_t i = 0; i < m->nvms; i++) {
		struct kd_vm *vm = &m->vms[i];

		if (!vm->alive && s->taken_ns >= vm->destroyed_ns &&
		    s->taken_ns - vm->destroyed_ns >= grace) {
			forget_later(m, vm->id);
			kd_vm_free(vm);
			m->vms_expired++;
			continue;
		}
		m->vms[keep++] = *vm;
	}
	m->nvms = keep;
	keep = 0;
	for (size_t i = 0; i < m->nuntracked; i++) {
		struct kd_untracked *u = &m->untracked[i];

		if (!u->alive && s->taken_ns >= u->destroyed_ns &&
		    s->taken_ns - u->destroyed_ns >= grace) {
			forget_later(m, u->id);
			continue;
		}
		m->untracked[keep++] = *u;
	}
	m->nuntracked = keep;
	m->vms_dropped += dropped;
	free(seen);
	return dropped;
}

void kd_vms_rename(struct kd_model *m, const struct kvmcmo_snapshot *s)
{
	/* every label is chosen again, in first-seen order */
	for (size_t i = 0; i < m->nvms; i++)
		m->vms[i].label[0] = 0;
	for (size_t i = 0; i < s->nvms; i++) {
		struct kd_vm *vm = kd_vm_find(m, s->vms[i].id);

		if (!vm)
			continue;
		kvmcmo_utf8_clean(vm->name, sizeof(vm->name), s->vms[i].name,
				  sizeof(s->vms[i].name));
		choose_label(m, vm);
	}
	/* tracked VMs the kernel has forgotten keep their name */
	for (size_t i = 0; i < m->nvms; i++)
		if (!m->vms[i].label[0])
			choose_label(m, &m->vms[i]);
}
