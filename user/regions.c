// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * regions.c - the one ordering and naming of region rows, so that
 * `kvmcmo stat`'s table, the JSON regions, kvmcmod and kvmcmotop list the
 * same rows the same way.
 */
#include <stdio.h>
#include <stdlib.h>

#include "libkvmcmo.h"

static bool region_valid(const struct kvmcmo_region_row *r)
{
	return r->count && r->key.kind < KVMCMO_KIND__COUNT &&
	       r->key.outcome < KVMCMO_OUTCOME__COUNT && r->key.memslot < KVMCMO_MEMSLOT__COUNT;
}

#define CMP(a, b) do { if ((a) != (b)) return (a) < (b) ? -1 : 1; } while (0)

static int cmp_rank(const void *a, const void *b)
{
	const struct kvmcmo_region_row *x = a, *y = b;

	CMP(y->count, x->count);        /* busiest first */
	CMP(x->key.base, y->key.base);
	CMP(x->key.size, y->key.size);
	CMP(x->key.slot, y->key.slot);
	CMP(x->key.memslot, y->key.memslot);
	CMP(x->key.kind, y->key.kind);
	CMP(x->key.outcome, y->key.outcome);
	return 0;
}

size_t kvmcmo_regions_rank(struct kvmcmo_region_row *rows, size_t n)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		if (!region_valid(&rows[i]))
			continue;
		rows[m] = rows[i];
		if (rows[m].key.slot < 0)
			rows[m].key.slot = -1;
		m++;
	}
	qsort(rows, m, sizeof(*rows), cmp_rank);
	return m;
}

void kvmcmo_region_name(const struct kvmcmo_region_key *k, char *buf, size_t len)
{
	if (k->slot >= 0)
		snprintf(buf, len, "slot%d", (int)k->slot);
	else
		snprintf(buf, len, "0x%08llx", (unsigned long long)k->base);
}
