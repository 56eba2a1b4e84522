/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * golden.h - compare a unit test's output with a file under
 * tests/unit/golden/ (found next to this header through __FILE__, so a
 * test runs from any directory).  KVMCMO_GOLDEN_UPDATE=1 rewrites the
 * files instead: review the diff before committing it.
 */
#ifndef KVMCMO_GOLDEN_H
#define KVMCMO_GOLDEN_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

static char *golden_path(const char *name)
{
	const char *slash = strrchr(__FILE__, '/');
	int dir = slash ? (int)(slash - __FILE__) : 1;
	char *p;

	if (asprintf(&p, "%.*s/golden/%s", dir, slash ? __FILE__ : ".", name) < 0)
		return NULL;
	return p;
}

/* 1 if text equals the golden file (or the file was rewritten) */
static int golden_check(const char *name, const char *text)
{
	char *path = golden_path(name), *want = NULL;
	const char *upd = getenv("KVMCMO_GOLDEN_UPDATE");
	size_t cap = 0, n;
	FILE *f;
	int ok;

	if (!ASSERT_TRUE(path != NULL, "%s", name))
		return 0;
	if (upd && *upd == '1') {
		f = fopen(path, "w");
		ok = ASSERT_TRUE(f && fputs(text, f) >= 0 && !fclose(f), "write %s", path);
		printf("  rewrote %s\n", path);
		free(path);
		return ok;
	}
	f = fopen(path, "r");
	if (!ASSERT_TRUE(f != NULL, "open %s: %s", path, strerror(errno))) {
		free(path);
		return 0;
	}
	n = getdelim(&want, &cap, '\0', f);
	fclose(f);
	ok = ASSERT_TRUE(n != (size_t)-1, "read %s", path) &&
	     ASSERT_STREQ(text, want, "golden %s", path);
	free(want);
	free(path);
	return ok;
}

#endif /* KVMCMO_GOLDEN_H */
