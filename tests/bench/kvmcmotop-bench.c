// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kvmcmotop-bench.c - what one kvmcmotop refresh costs with many VMs: the
 * frame model and the screen, fed by kvmcmod documents.
 *
 *   kvmcmotop-bench A.json B.json SECONDS [COLS LINES]
 *
 * A and B are two /api/v1/snapshot documents of the same VMs a few polls
 * apart (a real kvmcmod's, or tests/bench/kvmcmotop-source.py --dump).
 * For SECONDS, refresh after refresh as the screen loop does: the next
 * document (A, B, A, B, ...) becomes a fresh sample (as --remote does every
 * interval: timed apart, "json"), the frame is built against the previous
 * sample (rates) and the first one (totals), every tenth refresh also the
 * drill-down of the top VM, and ncurses draws it (erase + refresh) into
 * /dev/null sized COLS x LINES (80x24 by default): timed together,
 * "build+draw".  Alternating documents changes every number on every
 * refresh (B after A: the rates of two polls; A after B: counters that
 * went back, counted from zero), so ncurses really rewrites the rows each
 * time instead of finding nothing changed.
 *
 * Prints the VM count, build+draw mean/p50/p99/max in ms, the JSON ->
 * sample mean, and VmRSS every 30 s and at the end.
 */
#include <curses.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "top.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int sample_of(struct top_sample *s, json_t *doc, __u64 t, const char *path)
{
	char why[256];

	if (top_sample_from_json(s, doc, why, sizeof(why))) {
		fprintf(stderr, "kvmcmotop-bench: %s: %s\n", path, why);
		return -1;
	}
	s->taken_ns = t;
	return 0;
}

int main(int argc, char **argv)
{
	struct top_sample base, prev, cur;
	struct top_status st = { .source = "bench", .note = NULL };
	struct top_ui ui;
	double secs, t0, next_rss, *ms, parse_s = 0;
	size_t n = 0, cap = 1 << 20, nvms = 0;
	json_t *docs[2];
	json_error_t je;
	int saved, devnull;
	__u64 t = 1000000000ULL;

	if (argc < 4) {
		fprintf(stderr, "usage: kvmcmotop-bench A.json B.json SECONDS [COLS LINES]\n");
		return 2;
	}
	secs = atof(argv[3]);
	setenv("COLUMNS", argc > 4 ? argv[4] : "80", 1);
	setenv("LINES", argc > 5 ? argv[5] : "24", 1);
	if (!getenv("TERM"))
		setenv("TERM", "xterm", 1);
	for (int i = 0; i < 2; i++) {
		docs[i] = json_load_file(argv[1 + i], 0, &je);
		if (!docs[i]) {
			fprintf(stderr, "kvmcmotop-bench: %s: %s\n", argv[1 + i], je.text);
			return 1;
		}
	}
	if (sample_of(&base, docs[0], t, argv[1]) || sample_of(&prev, docs[0], t, argv[1]))
		return 1;
	ms = malloc(cap * sizeof(*ms));
	if (!ms)
		return 1;
	top_ui_init(&ui);

	/* the screen goes to /dev/null: everything is computed and written */
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, STDOUT_FILENO);
	if (top_view_open(true))
		return 1;
	t0 = now_s();
	next_rss = t0;
	while (now_s() - t0 < secs) {
		int d = (n + 1) % 2;
		struct top_frame fr;
		struct top_lines drill = {};
		double a, b;

		a = now_s();
		t += 1000000000ULL;
		if (sample_of(&cur, docs[d], t, argv[1 + d]))
			return 1;
		b = now_s();
		parse_s += b - a;
		if (top_frame_build(&fr, &cur, &prev, &base, &ui.view))
			return 1;
		top_ui_follow(&ui, &fr, top_view_rows());
		if (n % 10 == 0 && fr.nrows) {
			const struct top_vmstat *v = top_sample_find(&cur, fr.rows[0].id);
			struct top_vmstat w;

			if (!top_vmstat_diff(&w, v, top_sample_find(&prev, v->id))) {
				top_drill_lines(&drill, &w, v, fr.dt, false, COLS);
				top_vmstat_free(&w);
			}
		}
		st.now = time(NULL);
		top_view_draw(&ui, &fr, &drill, &st);
		top_lines_free(&drill);
		if (n < cap)
			ms[n] = (now_s() - b) * 1e3;
		n++;
		nvms = fr.nvms;
		top_frame_free(&fr);
		top_sample_free(&prev);
		prev = cur;
		if (now_s() >= next_rss) {
			dprintf(saved, "t=%4.0fs frames=%zu rss_kb=%ld vms=%zu\n", now_s() - t0, n,
				rss_kb(), nvms);
			next_rss += 30;
		}
	}
	top_view_close();
	dup2(saved, STDOUT_FILENO);
	{
		size_t m = n < cap ? n : cap;
		double sum = 0;

		qsort(ms, m, sizeof(*ms), cmp_d);
		for (size_t i = 0; i < m; i++)
			sum += ms[i];
		printf("vms=%zu frames=%zu %sx%s build+draw ms: mean %.3f p50 %.3f p99 %.3f "
		       "max %.3f; json->sample ms: mean %.3f; rss_kb end %ld\n", nvms, n,
		       getenv("COLUMNS"), getenv("LINES"), sum / m, ms[m / 2], ms[m * 99 / 100],
		       ms[m - 1], parse_s * 1e3 / n, rss_kb());
	}
	for (int i = 0; i < 2; i++)
		json_decref(docs[i]);
	top_sample_free(&base);
	top_sample_free(&prev);
	top_ui_fini(&ui);
	free(ms);
	return 0;
}
