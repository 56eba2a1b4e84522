// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_regions.c - user/regions.c: which region rows every front end shows,
 * in which order, under which name.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "libkvmcmo.h"

static struct kvmcmo_region_row row(__u64 base, __u64 size, int slot, int memslot, int kind,
				    int outcome, __u64 count)
{
	return (struct kvmcmo_region_row){
		{ .vm = 1, .base = base, .size = size, .slot = slot, .kind = (__u8)kind,
		  .outcome = (__u8)outcome, .memslot = (__u8)memslot }, count };
}

TEST(rank_filters_and_orders)
{
	struct kvmcmo_region_row v[] = {
		row(0x9000000, 0x10000, -1, KVMCMO_MEMSLOT_NONE, KVMCMO_KIND_WRITE,
		    KVMCMO_OUTCOME_MMIO_USER, 5),
		row(0x40000000, 0x100000, 1, KVMCMO_MEMSLOT_RW, KVMCMO_KIND_READ,
		    KVMCMO_OUTCOME_MAP_RW, 0),                  /* no aborts: left out */
		row(0x0, 0x4000000, 0, KVMCMO_MEMSLOT_RO, KVMCMO_KIND__COUNT,
		    KVMCMO_OUTCOME_MAP_RO, 9),                  /* bad kind: left out */
		row(0x0, 0x4000000, 0, KVMCMO_MEMSLOT_RO, KVMCMO_KIND_READ,
		    KVMCMO_OUTCOME_MAP_RO, 5),                  /* ties with row 0: lower IPA first */
		row(0x40000000, 0x100000, 1, KVMCMO_MEMSLOT_RW, KVMCMO_KIND_READ,
		    KVMCMO_OUTCOME_MAP_RW, 12),                 /* busiest */
		row(0x0, 0x4000000, 0, KVMCMO_MEMSLOT_RO, KVMCMO_KIND_EXEC,
		    KVMCMO_OUTCOME_MAP_RO, 5),                  /* same place, kind breaks the tie */
		row(0x50000000, 0x10000, -7, KVMCMO_MEMSLOT_NONE, KVMCMO_KIND_READ,
		    KVMCMO_OUTCOME_NISV, 1),                    /* any negative slot is -1 */
	};
	size_t n = kvmcmo_regions_rank(v, sizeof(v) / sizeof(v[0]));

	if (!ASSERT_EQ(n, 5, "rows kept"))
		return;
	ASSERT_EQ(v[0].count, 12, "busiest first");
	ASSERT_EQ(v[1].key.base, 0x0, "tie on count: lower IPA first");
	ASSERT_EQ(v[1].key.kind, KVMCMO_KIND_READ, "then by kind");
	ASSERT_EQ(v[2].key.kind, KVMCMO_KIND_EXEC, "then by kind");
	ASSERT_EQ(v[3].key.base, 0x9000000, "the window last of the fives");
	ASSERT_EQ(v[4].key.slot, -1, "negative slot normalised");
	ASSERT_EQ(kvmcmo_regions_rank(NULL, 0), 0, "empty");
}

TEST(names)
{
	struct kvmcmo_region_row a = row(0x40000000, 0x100000, 3, 0, 0, 0, 1);
	struct kvmcmo_region_row b = row(0x9000000, 0x10000, -1, 0, 0, 0, 1);
	struct kvmcmo_region_row c = row(0x8000000000ULL, 0x10000, -1, 0, 0, 0, 1);
	char buf[32];

	kvmcmo_region_name(&a.key, buf, sizeof(buf));
	ASSERT_STREQ(buf, "slot3", "a memslot by id");
	kvmcmo_region_name(&b.key, buf, sizeof(buf));
	ASSERT_STREQ(buf, "0x09000000", "a window by its base, 8 digits");
	kvmcmo_region_name(&c.key, buf, sizeof(buf));
	ASSERT_STREQ(buf, "0x8000000000", "past 4 GiB, all digits");
}

static const struct test tests[] = {
	TEST_ENTRY(rank_filters_and_orders),
	TEST_ENTRY(names),
};

int main(void)
{
	return test_run(tests, TEST_COUNT(tests));
}
