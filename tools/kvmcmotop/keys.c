// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * keys.c - the interactive state and what each key does to it.  No
 * drawing here: view.c paints whatever this leaves in struct top_ui, so the
 * whole key map is unit-tested without a terminal (tests/unit/test_top_keys.c).
 */
#include <curses.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "top.h"

#define KEY_ESC 27
#define KEY_CTRL_U 21

const char *const top_help_text[] = {
	"kvmcmotop: guest aborts per VM, CMOs first",
	"",
	"  Up/Down PgUp/PgDn Home/End   move the selection (scroll the details)",
	"  Enter      details of the selected VM (Enter, Esc, Left: back)",
	"  < >        sort by the column left / right of the current one",
	"  N I V A C T P D O S X E 5 9   sort by NAME PID VCP ABRT CMO TRAN PERM",
	"             DBL RO SKIP EXIT ERR P50 P99 (again: reverse)",
	"  R          reverse the sort order",
	"  t          rates per second <-> totals since start",
	"  k          which kind the CMO..ERR columns count (cmo, s1ptw, ...)",
	"  f          filter VM names by a regular expression (empty: none)",
	"  p          only the VMs of one VMM pid (empty: all)",
	"  d          hide / show destroyed VMs",
	"  s          refresh interval in seconds",
	"  r          reset the totals to zero (start again from now)",
	"  u          read the kvmcmod found on this host instead of the probes",
	"  h ?        this help (any key goes back)",
	"  q          quit",
	"Columns: VCP vCPUs seen; ABRT every abort; CMO..EXIT aborts of the",
	"chosen kind: translation and permission faults, double faults, on",
	"read-only memslots, skipped by KVM, exits to the VMM (NISV or MMIO);",
	"ERR failed vCPU runs since start; P50 P99 handler time of every abort",
	"(n u m s: nanoseconds, microseconds, milliseconds, seconds).",
	NULL,
};

void top_ui_init(struct top_ui *ui)
{
	memset(ui, 0, sizeof(*ui));
	ui->view.sort = TOP_COL_FOCUS;
	ui->view.kind = KVMCMO_KIND_CMO;
	ui->interval = 1.0;
	ui->screen = TOP_SCR_MAIN;
	ui->redraw = true;
}

void top_ui_fini(struct top_ui *ui)
{
	if (ui->have_re)
		regfree(&ui->re);
	ui->have_re = false;
	ui->view.name_re = NULL;
}

int top_ui_set_filter(struct top_ui *ui, const char *re)
{
	regex_t r;
	int err;

	if (!*re) {
		top_ui_fini(ui);
		ui->filter[0] = 0;
		return 0;
	}
	if (strlen(re) >= sizeof(ui->filter)) {
		snprintf(ui->msg, sizeof(ui->msg), "filter too long (at most %zu characters)",
			 sizeof(ui->filter) - 1);
		return -EINVAL;
	}
	err = regcomp(&r, re, REG_EXTENDED | REG_NOSUB);
	if (err) {
		char e[96];

		regerror(err, &r, e, sizeof(e));
		snprintf(ui->msg, sizeof(ui->msg), "bad regular expression: %s", e);
		return -EINVAL;
	}
	top_ui_fini(ui);
	ui->re = r;
	ui->have_re = true;
	ui->view.name_re = &ui->re;
	snprintf(ui->filter, sizeof(ui->filter), "%s", re);
	return 0;
}

static int col_of_key(int key)
{
	for (int c = 0; c < TOP_COL__COUNT; c++)
		if (top_cols[c].key == key)
			return c;
	return -1;
}

/* names and pids read top-down, counts biggest first */
static void set_sort(struct top_ui *ui, int col)
{
	ui->view.sort = col;
	ui->view.ascending = col == TOP_COL_NAME || col == TOP_COL_PID;
}

static void sort_by(struct top_ui *ui, int col)
{
	if (ui->view.sort == col)
		ui->view.ascending = !ui->view.ascending;
	else
		set_sort(ui, col);
}

static void select_row(struct top_ui *ui, const struct top_frame *fr, int sel)
{
	int n = fr ? (int)fr->nrows : 0;

	if (sel >= n)
		sel = n - 1;
	if (sel < 0)
		sel = 0;
	ui->sel = sel;
	ui->sel_id = sel < n ? fr->rows[sel].id : 0;
}

static void apply_prompt(struct top_ui *ui)
{
	char *end;

	switch (ui->prompt) {
	case TOP_PROMPT_FILTER:
		if (!top_ui_set_filter(ui, ui->buf))
			ui->sel = ui->first = 0;
		break;
	case TOP_PROMPT_PID: {
		long v;

		if (!ui->buflen) {
			ui->view.pid = 0;
			break;
		}
		v = strtol(ui->buf, &end, 10);
		if (*end || v <= 0 || v > 0x7fffffff)
			snprintf(ui->msg, sizeof(ui->msg), "invalid pid '%.40s'", ui->buf);
		else
			ui->view.pid = (__u32)v, ui->sel = ui->first = 0;
		break;
	}
	case TOP_PROMPT_INTERVAL: {
		double v;

		if (!ui->buflen)
			break;
		v = strtod(ui->buf, &end);
		if (*end || !(v >= TOP_INTERVAL_MIN && v <= TOP_INTERVAL_MAX)) {
			snprintf(ui->msg, sizeof(ui->msg), "invalid interval '%.40s' (%.1f to %.0f seconds)",
				 ui->buf, TOP_INTERVAL_MIN, TOP_INTERVAL_MAX);
		} else {
			ui->interval = v;
			ui->interval_changed = true;
		}
		break;
	}
	case TOP_PROMPT_NONE:
		break;
	}
	ui->prompt = TOP_PROMPT_NONE;
}

static void prompt_key(struct top_ui *ui, int key)
{
	switch (key) {
	case '\n':
	case '\r':
	case KEY_ENTER:
		apply_prompt(ui);
		break;
	case KEY_ESC:
		ui->prompt = TOP_PROMPT_NONE;
		break;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		if (ui->buflen)
			ui->buf[--ui->buflen] = 0;
		break;
	case KEY_CTRL_U:
		ui->buflen = 0;
		ui->buf[0] = 0;
		break;
	default:
		if (key >= 0x20 && key < 0x7f && ui->buflen < sizeof(ui->buf) - 1) {
			ui->buf[ui->buflen++] = (char)key;
			ui->buf[ui->buflen] = 0;
		}
	}
}

static void start_prompt(struct top_ui *ui, enum top_prompt p)
{
	ui->prompt = p;
	ui->buflen = 0;
	ui->buf[0] = 0;
	/* start from what is set: editing beats retyping */
	if (p == TOP_PROMPT_FILTER)
		snprintf(ui->buf, sizeof(ui->buf), "%s", ui->filter);
	else if (p == TOP_PROMPT_PID && ui->view.pid)
		snprintf(ui->buf, sizeof(ui->buf), "%u", ui->view.pid);
	ui->buflen = strlen(ui->buf);
}

/* Up/Down/... on a list of n entries of which page are visible */
static bool nav(int key, int *pos, int n, int page)
{
	int p = *pos;

	if (page < 1)
		page = 1;
	switch (key) {
	case KEY_UP:
		p--;
		break;
	case KEY_DOWN:
		p++;
		break;
	case KEY_PPAGE:
		p -= page;
		break;
	case KEY_NPAGE:
		p += page;
		break;
	case KEY_HOME:
		p = 0;
		break;
	case KEY_END:
		p = n - 1;
		break;
	default:
		return false;
	}
	if (p > n - 1)
		p = n - 1;
	if (p < 0)
		p = 0;
	*pos = p;
	return true;
}

void top_ui_key(struct top_ui *ui, int key, const struct top_frame *fr, int page, int dlines)
{
	int c;

	ui->redraw = true;
	if (key != KEY_RESIZE && key != ERR)
		ui->msg[0] = 0;
	if (key == KEY_RESIZE || key == ERR)
		return;
	if (ui->prompt != TOP_PROMPT_NONE) {
		prompt_key(ui, key);
		return;
	}
	if (ui->screen == TOP_SCR_HELP) {
		if (key == 'q')
			ui->quit = true;
		ui->screen = ui->back;
		return;
	}
	switch (key) {
	case 'q':
		ui->quit = true;
		return;
	case 'h':
	case '?':
		ui->back = ui->screen;
		ui->screen = TOP_SCR_HELP;
		return;
	case 't':
		ui->view.totals = !ui->view.totals;
		return;
	case 'r':
		ui->reset = true;
		snprintf(ui->msg, sizeof(ui->msg), "totals reset");
		return;
	case 'k':
		ui->view.kind = (ui->view.kind + 1) % TOP_NK;
		return;
	case 'd':
		ui->view.hide_dead = !ui->view.hide_dead;
		return;
	case 'u':
		if (ui->offer_remote)
			ui->use_remote = true;
		else
			snprintf(ui->msg, sizeof(ui->msg), "u: no local kvmcmod was found");
		return;
	case 'f':
		start_prompt(ui, TOP_PROMPT_FILTER);
		return;
	case 'p':
		start_prompt(ui, TOP_PROMPT_PID);
		return;
	case 's':
		start_prompt(ui, TOP_PROMPT_INTERVAL);
		return;
	case '<':
		set_sort(ui, (ui->view.sort + TOP_COL__COUNT - 1) % TOP_COL__COUNT);
		return;
	case '>':
		set_sort(ui, (ui->view.sort + 1) % TOP_COL__COUNT);
		return;
	case 'R':
		ui->view.ascending = !ui->view.ascending;
		return;
	}
	if (ui->screen == TOP_SCR_DRILL) {
		int n = dlines - page + 1;

		if (nav(key, &ui->drill_first, n > 1 ? n : 1, page))
			return;
		if (key == KEY_ESC || key == KEY_LEFT || key == KEY_BACKSPACE || key == 127 ||
		    key == '\n' || key == '\r' || key == KEY_ENTER)
			ui->screen = TOP_SCR_MAIN;
		return;
	}
	if (key == '\n' || key == '\r' || key == KEY_ENTER || key == KEY_RIGHT) {
		if (fr && fr->nrows) {
			select_row(ui, fr, ui->sel);
			ui->drill_id = ui->sel_id;
			ui->drill_first = 0;
			ui->screen = TOP_SCR_DRILL;
		}
		return;
	}
	c = ui->sel;
	if (nav(key, &c, fr ? (int)fr->nrows : 0, page)) {
		select_row(ui, fr, c);
		top_ui_follow(ui, fr, page);
		return;
	}
	c = col_of_key(key);
	if (c >= 0)
		sort_by(ui, c);
}

void top_ui_follow(struct top_ui *ui, const struct top_frame *fr, int page)
{
	int n = fr ? (int)fr->nrows : 0;

	for (int i = 0; i < n; i++)
		if (fr->rows[i].id == ui->sel_id) {
			ui->sel = i;
			break;
		}
	select_row(ui, fr, ui->sel);
	if (page < 1)
		page = 1;
	if (ui->sel < ui->first)
		ui->first = ui->sel;
	if (ui->sel >= ui->first + page)
		ui->first = ui->sel - page + 1;
	if (ui->first > n - page)
		ui->first = n - page;
	if (ui->first < 0)
		ui->first = 0;
}
