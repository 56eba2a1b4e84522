// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * view.c - the screen, drawn with ncurses.
 *
 * Every frame is erase() + drawing + refresh(): ncurses sends only what
 * changed, so nothing flickers and the screen is never cleared per frame.
 * 80x24 holds everything (the NAME column takes what a wider screen adds);
 * a smaller screen is clipped, never garbled.  Colours only when the
 * terminal has them and NO_COLOR is unset (main.c decides); without them,
 * reverse video and bold carry the same structure.
 *
 *   0  title: time, source, interval, rates or totals, kind
 *   1  VMs shown and seen, sort, filters
 *   2  a note (kvmcmod found, BPF drops) or nothing
 *   3  the focus kind's column group
 *   4  column headers
 *   5  rows, the selected one in reverse video, destroyed VMs dim
 *  -2  the total of the rows shown
 *  -1  the prompt, a message, or the key hints
 *
 * Ctrl-Z is handled here, not by ncurses: ncurses ignores SIGTSTP while it
 * writes a frame (doupdate), so a Ctrl-Z during a refresh was lost (seen
 * under emulation, where a frame of 300 VMs takes a while to write).  The
 * handler only notes it; top_view_key() then gives the terminal back
 * (endwin), stops, and repaints after fg.
 */
#include <curses.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "top.h"

#define CHROME 7                /* lines that are not VM rows */

enum { PAIR_HEAD = 1, PAIR_HOT, PAIR_BAD, PAIR_TITLE };

static bool colors;
static SCREEN *scr;
static volatile sig_atomic_t tstp_pending;
static struct sigaction tstp_old;
static bool tstp_ours;

static void on_tstp(int sig)
{
	(void)sig;
	tstp_pending = 1;
}

static void tstp_handler(void (*h)(int))
{
	struct sigaction sa = { .sa_handler = h, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTSTP, &sa, NULL);
}

/* Ctrl-Z seen: the shell's terminal back, stop, then the screen again */
static void suspend(void)
{
	tstp_pending = 0;
	endwin();
	tstp_handler(SIG_DFL);
	raise(SIGTSTP);         /* stopped here until SIGCONT (fg) */
	tstp_handler(on_tstp);
	refresh();              /* ncurses: program modes back, a full repaint */
}

int top_view_open(bool color)
{
	const char *term = getenv("TERM");

	/* before newterm(): ncurses leaves a SIGTSTP it finds handled alone;
	 * an ignored one (a shell without job control) stays ignored */
	if (!tstp_ours && !sigaction(SIGTSTP, NULL, &tstp_old) &&
	    tstp_old.sa_handler == SIG_DFL) {
		tstp_pending = 0;
		tstp_handler(on_tstp);
		tstp_ours = true;
	}

	scr = newterm(NULL, stdout, stdin);
	if (!scr) {
		kvmcmo_err("cannot drive terminal '%s': set TERM, or use -b for batch output",
			   term ? term : "");
		if (tstp_ours) {
			sigaction(SIGTSTP, &tstp_old, NULL);
			tstp_ours = false;
		}
		return -1;
	}
	set_term(scr);
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	colors = color && has_colors();
	if (colors) {
		start_color();
		use_default_colors();
		init_pair(PAIR_HEAD, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_HOT, COLOR_YELLOW, -1);
		init_pair(PAIR_BAD, COLOR_RED, -1);
		init_pair(PAIR_TITLE, COLOR_CYAN, -1);
	}
	return 0;
}

void top_view_close(void)
{
	if (!scr)
		return;
	endwin();
	delscreen(scr);
	scr = NULL;
	if (tstp_ours) {
		sigaction(SIGTSTP, &tstp_old, NULL);
		tstp_ours = false;
	}
}

int top_view_rows(void)
{
	return LINES > CHROME ? LINES - CHROME : 0;
}

int top_view_lines(void)
{
	return LINES > 3 ? LINES - 3 : 0;
}

int top_view_key(int ms)
{
	int key = ERR;

	if (!tstp_pending) {
		timeout(ms);
		key = getch();
	}
	if (key != ERR || !tstp_pending)
		return key;             /* a key first; the stop at the next call */
	suspend();
	return KEY_RESIZE;      /* a redraw (the size may have changed meanwhile) */
}

/* printf at y, x clipped to the screen's width: never wraps into the next line */
__attribute__((format(printf, 3, 4)))
static void put(int y, int x, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (y < 0 || y >= LINES || x >= COLS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	mvaddnstr(y, x, buf, COLS - x);
}

static attr_t attr(int pair, attr_t plain)
{
	return colors ? COLOR_PAIR(pair) : plain;
}

/* ---- columns ------------------------------------------------------------- */

struct layout {
	int x[TOP_COL__COUNT], w[TOP_COL__COUNT];
};

static void layout(struct layout *l)
{
	int x = 0, fixed = 0;

	for (int c = 1; c < TOP_COL__COUNT; c++)
		fixed += 1 + top_cols[c].width;
	for (int c = 0; c < TOP_COL__COUNT; c++) {
		l->w[c] = top_cols[c].width;
		if (c == TOP_COL_NAME && COLS - fixed > l->w[c])
			l->w[c] = COLS - fixed > 48 ? 48 : COLS - fixed;
		l->x[c] = x;
		x += l->w[c] + 1;
	}
}

static const char *kind_upper(int kind, char *buf, size_t len)
{
	snprintf(buf, len, "%s", kind >= 0 && kind < TOP_NK ? kvmcmo_kind_label[kind] : "?");
	for (char *p = buf; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p -= 'a' - 'A';
	return buf;
}

static void cell(char *buf, size_t len, const struct top_row *r, int c, int w,
		 const struct top_ui *ui, double dt, bool total)
{
	bool totals = ui->view.totals;
	char t[32];

	switch (c) {
	case TOP_COL_NAME:
		if (!total && strlen(r->name) > (size_t)w && w > 1)
			snprintf(buf, len, "%.*s~", w - 1, r->name);        /* clipped */
		else
			snprintf(buf, len, "%-*.*s", w, w, r->name);
		return;
	case TOP_COL_PID:
		if (total)
			snprintf(buf, len, "%*s", w, "");
		else
			snprintf(buf, len, "%*u", w, r->pid);
		return;
	case TOP_COL_P50:
	case TOP_COL_P99:
		top_fmt_ns(t, sizeof(t), (__u64)top_row_value(r, c, totals, dt), w);
		break;
	default:
		top_fmt_num(t, sizeof(t), top_row_value(r, c, totals, dt), w);
	}
	/* numbers right-aligned */
	snprintf(buf, len, "%*s", w, t);
}

static void draw_row(int y, const struct top_row *r, const struct layout *l,
		     const struct top_ui *ui, double dt, bool total, attr_t base)
{
	char buf[64];

	move(y, 0);
	attrset(base);
	for (int c = 0; c < TOP_COL__COUNT && l->x[c] < COLS; c++) {
		attr_t a = base;

		cell(buf, sizeof(buf), r, c, l->w[c], ui, dt, total);
		/* what an operator looks for: the focus kind happening, errors */
		if (!(base & A_REVERSE) && c >= TOP_COL_FOCUS && c <= TOP_COL_ERRORS &&
		    top_row_value(r, c, ui->view.totals, dt) > 0)
			a |= c == TOP_COL_ERRORS || c == TOP_COL_DFAULT ? attr(PAIR_BAD, A_BOLD) :
			     attr(PAIR_HOT, A_BOLD);
		attrset(a);
		mvaddnstr(y, l->x[c], buf, COLS - l->x[c]);
		attrset(base);
		if (c + 1 < TOP_COL__COUNT && l->x[c] + l->w[c] < COLS)
			addch(' ');
	}
	/* the selection bar spans the line */
	if (base & A_REVERSE)
		for (int x = getcurx(stdscr); x < COLS && x > 0; x++)
			addch(' ');
	attrset(A_NORMAL);
}

/* ---- lines around the table ---------------------------------------------------- */

static void title(const struct top_ui *ui, const struct top_status *st)
{
	char ts[16], k[16];
	struct tm tm;

	if (!localtime_r(&st->now, &tm) || !strftime(ts, sizeof(ts), "%H:%M:%S", &tm))
		snprintf(ts, sizeof(ts), "--:--:--");
	attrset(attr(PAIR_TITLE, A_BOLD));
	put(0, 0, "kvmcmotop %s  %s  every %.1fs  %s  kind %s", ts, st->source,
		 ui->interval, ui->view.totals ? "totals" : "rates/s",
		 kind_upper(ui->view.kind, k, sizeof(k)));
	attrset(A_NORMAL);
}

static void bottom(const struct top_ui *ui)
{
	static const char *const what[] = {
		[TOP_PROMPT_FILTER] = "filter VM names (regex, empty: none): ",
		[TOP_PROMPT_PID] = "only VMM pid (empty: all): ",
		[TOP_PROMPT_INTERVAL] = "interval in seconds: ",
	};
	int y = LINES - 1;

	if (y < 1)
		return;
	move(y, 0);
	clrtoeol();
	if (ui->prompt != TOP_PROMPT_NONE) {
		attrset(A_BOLD);
		put(y, 0, "%s", what[ui->prompt]);
		attrset(A_NORMAL);
		put(y, (int)strlen(what[ui->prompt]), "%s_", ui->buf);
	} else if (ui->msg[0]) {
		attrset(A_BOLD);
		put(y, 0, "%s", ui->msg);
		attrset(A_NORMAL);
	} else if (ui->screen == TOP_SCR_DRILL) {
		put(y, 0, "Esc back  Up/Down PgUp/PgDn scroll  t totals  s interval  h help  q quit");
	} else if (ui->screen == TOP_SCR_MAIN) {
		put(y, 0, "Enter details f filter p pid t totals k kind <> sort s interval h help q quit");
	}
}

static void main_screen(const struct top_ui *ui, const struct top_frame *fr,
			const struct top_status *st)
{
	struct layout l;
	char k[16];
	int rows = top_view_rows(), y, x0, x1;

	layout(&l);
	title(ui, st);
	{
		char pid[32] = "";

		if (ui->view.pid)
			snprintf(pid, sizeof(pid), "  pid %u", ui->view.pid);
		put(1, 0, "VMs: %zu shown, %zu seen (%zu alive)  sort %s %s%s%s%s%s", fr->nrows,
		    fr->nvms, fr->nalive, ui->view.sort == TOP_COL_FOCUS ?
		    kind_upper(ui->view.kind, k, sizeof(k)) : top_cols[ui->view.sort].header,
		    ui->view.ascending ? "asc" : "desc", ui->filter[0] ? "  filter /" : "",
		    ui->filter, ui->filter[0] ? "/" : "", pid);
		if (ui->view.hide_dead)
			addnstr("  alive only", COLS - getcurx(stdscr) > 0 ? COLS - getcurx(stdscr) : 0);
	}
	if (st->note) {
		put(2, 0, "%s", st->note);
	} else {
		for (int s = 0; s < KVMCMO_STAT__COUNT; s++)
			if (fr->stats[s]) {
				attrset(attr(PAIR_BAD, A_BOLD));
				put(2, 0, "BPF side: %s %llu (counts may be short)",
					 kvmcmo_stat_label[s], (unsigned long long)fr->stats[s]);
				attrset(A_NORMAL);
				break;
			}
	}

	/* the focus kind's group: CMO .. ERR */
	x0 = l.x[TOP_COL_FOCUS];
	x1 = l.x[TOP_COL_ERRORS] + l.w[TOP_COL_ERRORS];
	if (x1 <= COLS) {
		char g[96];
		int w = x1 - x0, n = snprintf(g, sizeof(g), " %s aborts%s ",
					      kvmcmo_kind_label[ui->view.kind],
					      ui->view.totals ? "" : " per second");

		mvhline(3, x0, ACS_HLINE, w);
		if (n < w)
			mvaddstr(3, x0 + (w - n) / 2, g);
	}

	attrset(attr(PAIR_HEAD, A_REVERSE));
	move(4, 0);
	for (int x = 0; x < COLS; x++)
		addch(' ');
	for (int c = 0; c < TOP_COL__COUNT && l.x[c] < COLS; c++) {
		const char *h = c == TOP_COL_FOCUS ? kind_upper(ui->view.kind, k, sizeof(k)) :
			        top_cols[c].header;
		char buf[64];

		if (c == TOP_COL_NAME)
			snprintf(buf, sizeof(buf), "%-*.*s", l.w[c], l.w[c], h);
		else
			snprintf(buf, sizeof(buf), "%*.*s", l.w[c], l.w[c], h);
		if (c == ui->view.sort)
			attron(A_UNDERLINE | A_BOLD);
		mvaddnstr(4, l.x[c], buf, COLS - l.x[c]);
		attroff(A_UNDERLINE | A_BOLD);
	}
	attrset(A_NORMAL);

	y = 5;
	for (int i = ui->first; i < (int)fr->nrows && y < 5 + rows; i++, y++) {
		const struct top_row *r = &fr->rows[i];
		attr_t a = i == ui->sel ? A_REVERSE : r->alive ? A_NORMAL : A_DIM;

		draw_row(y, r, &l, ui, fr->dt, false, a);
	}
	if (!fr->nrows && rows > 0)
		put(5, 0, "%s", fr->nvms ? "(no VM matches the filters)" :
		    "(no VM has taken a stage-2 abort yet)");
	if (LINES - 2 > 4)
		draw_row(LINES - 2, &fr->total, &l, ui, fr->dt, true, A_BOLD);
}

static void drill_screen(const struct top_ui *ui, const struct top_lines *d,
			 const struct top_status *st)
{
	int n = top_view_lines();

	title(ui, st);
	attrset(attr(PAIR_HEAD, A_REVERSE));
	move(1, 0);
	for (int x = 0; x < COLS; x++)
		addch(' ');
	put(1, 0, "details  %s  (line %d of %zu)", ui->view.totals ?
	    "totals since start" : "last interval, per second",
	    d && d->n ? ui->drill_first + 1 : 0, d ? d->n : 0);
	attrset(A_NORMAL);
	if (!d || !d->n) {
		put(2, 0, "(this VM is gone from the counters)");
		return;
	}
	for (int i = 0; i < n && ui->drill_first + i < (int)d->n; i++)
		mvaddnstr(2 + i, 0, d->v[ui->drill_first + i], COLS);
}

static void help_screen(void)
{
	attrset(A_BOLD);
	for (int i = 0; top_help_text[i] && i < LINES; i++) {
		mvaddnstr(i, 0, top_help_text[i], COLS);
		attrset(A_NORMAL);
	}
}

void top_view_draw(const struct top_ui *ui, const struct top_frame *fr,
		   const struct top_lines *drill, const struct top_status *st)
{
	erase();
	switch (ui->screen) {
	case TOP_SCR_MAIN:
		main_screen(ui, fr, st);
		break;
	case TOP_SCR_DRILL:
		drill_screen(ui, drill, st);
		break;
	case TOP_SCR_HELP:
		help_screen();
		break;
	}
	bottom(ui);
	refresh();
}
