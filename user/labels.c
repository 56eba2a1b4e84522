// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* labels.c - label strings, generated from the X-macros in bpf/kvmcmo.h */
#include <string.h>

#include "libkvmcmo.h"

#define LABEL(n, l) l,

const char *const kvmcmo_kind_label[KVMCMO_KIND__COUNT] = { KVMCMO_KINDS(LABEL) };
const char *const kvmcmo_fault_label[KVMCMO_FAULT__COUNT] = { KVMCMO_FAULTS(LABEL) };
const char *const kvmcmo_memslot_label[KVMCMO_MEMSLOT__COUNT] = { KVMCMO_MEMSLOTS(LABEL) };
const char *const kvmcmo_outcome_label[KVMCMO_OUTCOME__COUNT] = { KVMCMO_OUTCOMES(LABEL) };
const char *const kvmcmo_dabt_label[KVMCMO_DABT__COUNT] = { KVMCMO_DABT_SOURCES(LABEL) };
const char *const kvmcmo_stat_label[KVMCMO_STAT__COUNT] = { KVMCMO_STATS(LABEL) };

int kvmcmo_label_index(const char *const *labels, int n, const char *label)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(labels[i], label))
			return i;
	return -1;
}
