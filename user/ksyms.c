// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ksyms.c - look up kernel function names in /proc/kallsyms.
 *
 * A kprobe needs the symbol; an inlined static function (user_mem_abort up
 * to 6.12) has none.  The file is scanned once per lookup: lookups happen a
 * dozen times at start-up only, and a cache would go stale across module
 * loads.
 */
#include <stdio.h>
#include <string.h>

#include "ksyms.h"

bool kvmcmo_ksym_exists(const char *name)
{
	char line[512], sym[256], type;
	unsigned long long addr;
	bool found = false;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, sym) != 3)
			continue;
		if ((type == 't' || type == 'T') && !strcmp(sym, name))
			found = true;
	}
	fclose(f);
	return found;
}
