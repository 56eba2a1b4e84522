/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * top.h - kvmcmotop's parts and what they share.
 *
 *   sample.c       one point in time: every VM's cumulative counters, from a
 *                  local snapshot (libkvmcmo) or a kvmcmod JSON document
 *   sample_json.c  the JSON document (`kvmcmo stat --json` shape) -> sample
 *   model.c        two or three samples -> the rows of a frame: rates per
 *                  interval, totals since start, percentiles, filter, sort
 *   drill.c        one VM in detail, as lines of text
 *   fmt.c          numbers and durations squeezed into a column
 *   output.c       batch frames: plain text, JSON, CSV
 *   keys.c         the interactive state and what each key does to it
 *   view.c         ncurses drawing
 *   source.c       where samples come from: the probes or a kvmcmod
 *   http.c         one HTTP GET (libevent's evhttp), kvmcmod detection
 *   guard.c        the terminal guard: restores the tty even after kill -9
 *   util.c         a reason into a buffer, the clock
 *
 * Everything but view.c, source.c, http.c and guard.c is pure (no I/O
 * beyond a FILE * handed in) and unit-tested in tests/unit/test_top*.c.
 */
#ifndef __KVMCMOTOP_H
#define __KVMCMOTOP_H

#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "libkvmcmo.h"

#define TOP_NK KVMCMO_KIND__COUNT
#define TOP_NF KVMCMO_FAULT__COUNT
#define TOP_NM KVMCMO_MEMSLOT__COUNT
#define TOP_NO KVMCMO_OUTCOME__COUNT
#define TOP_ND KVMCMO_DABT__COUNT

/* the kvmcmod endpoint a URL without a path means */
#define TOP_API_PATH "/api/v1/snapshot"

/* ---- sample.c ------------------------------------------------------------ */

struct top_vcpu {
	__u32 vcpu;
	__u64 aborts, cmo;
};

struct top_region {
	__u64 base, size;
	__s32 slot;             /* memslot id, -1 outside memslots */
	__u8 memslot;           /* enum kvmcmo_memslot: its type when it faulted */
	__u8 kind, outcome;
	__u64 count;
};

/* one VM's counters since the probes (or kvmcmod) started */
struct top_vmstat {
	__u64 id;
	__u32 pid;
	int fd;
	bool alive;
	char name[128];
	__u64 aborts[TOP_NK][TOP_NF][TOP_NM][TOP_NO];
	__u64 dabt[TOP_ND];
	struct kvmcmo_hist lat[TOP_NO];         /* handler time by outcome */
	struct kvmcmo_hist dfault[TOP_NK][TOP_NM];      /* double-fault gaps */
	struct top_vcpu *vcpus;                 /* by vcpu */
	size_t nvcpus;
	struct top_region *regions;             /* by key (base, size, slot, memslot, kind, outcome) */
	size_t nregions;
};

struct top_sample {
	__u64 taken_ns;                 /* CLOCK_MONOTONIC when read */
	struct top_vmstat *vms;         /* by id */
	size_t nvms;
	__u64 stats[KVMCMO_STAT__COUNT];
};

int top_sample_from_snapshot(struct top_sample *out, const struct kvmcmo_snapshot *s);
void top_sample_free(struct top_sample *s);
const struct top_vmstat *top_sample_find(const struct top_sample *s, __u64 id);
/* out = cur - ref (ref NULL: zero); a counter that went backwards (the
 * source restarted) counts from zero.  out owns its arrays: top_vmstat_free() */
int top_vmstat_diff(struct top_vmstat *out, const struct top_vmstat *cur,
		    const struct top_vmstat *ref);
void top_vmstat_free(struct top_vmstat *v);
/* sort vms, vcpus and regions into the orders above; sum duplicate rows,
 * keep a VM listed twice once (the destroyed entry) */
int top_sample_normalize(struct top_sample *s);

/* ---- sample_json.c ------------------------------------------------------- */

/* a `kvmcmo stat --json` / kvmcmod /api/v1/snapshot document -> sample;
 * 0, or -EINVAL with why[] set (taken_ns is left for the caller) */
int top_sample_from_json(struct top_sample *out, const json_t *doc, char *why, size_t len);

/* ---- model.c ------------------------------------------------------------- */

#define TOP_COLS(X)                                                                  \
	X(NAME, "NAME", "name", 'N', 16, "VM name (-name/--name of the VMM, else comm)") \
	X(PID, "PID", "pid", 'I', 7, "VMM process id")                                  \
	X(VCPUS, "VCP", "vcpus", 'V', 3, "vCPUs seen aborting since start")             \
	X(ABORTS, "ABRT", "aborts", 'A', 4, "guest aborts of every kind")               \
	X(FOCUS, "CMO", "focus", 'C', 4, "aborts of the chosen kind (cmo)")             \
	X(TRANS, "TRAN", "translation", 'T', 4, "... that were translation faults")     \
	X(PERM, "PERM", "permission", 'P', 4, "... that were permission faults")        \
	X(DFAULT, "DBL", "double_faults", 'D', 3, "double faults of the chosen kind")  \
	X(RO, "RO", "ro", 'O', 3, "... on read-only memslots")                          \
	X(SKIP, "SKIP", "skip", 'S', 4, "... skipped by KVM (PC advanced)")             \
	X(EXITS, "EXIT", "exits", 'X', 4, "... exiting to the VMM (NISV or MMIO)")      \
	X(ERRORS, "ERR", "errors", 'E', 3, "... failing the vCPU run (since start)")    \
	X(P50, "P50", "p50_ns", '5', 4, "median time in the abort handler")            \
	X(P99, "P99", "p99_ns", '9', 4, "99th percentile of that time")

#define TOP_COL_ENUM(n, h, j, k, w, d) TOP_COL_##n,
enum top_col { TOP_COLS(TOP_COL_ENUM) TOP_COL__COUNT };

struct top_colinfo {
	const char *header;     /* on screen, fits width */
	const char *json;       /* JSON key, CSV column (focus ones get the kind prefixed) */
	char key;               /* sort key */
	int width;              /* on an 80-column screen */
	const char *help;
};
extern const struct top_colinfo top_cols[TOP_COL__COUNT];
/* column by header or JSON name, case-insensitive; -1 if none */
int top_col_by_name(const char *s);

/* the counted columns, ABORTS..ERRORS */
#define TOP_C0 TOP_COL_ABORTS
#define TOP_NCOUNT (TOP_COL_ERRORS - TOP_COL_ABORTS + 1)

/* what a window (an interval, or the time since start) counted */
struct top_win {
	__u64 n[TOP_NCOUNT];
	struct kvmcmo_hist lat;         /* handler time, every outcome merged */
	__u64 p50, p99;
};

struct top_row {
	__u64 id;
	__u32 pid;
	int fd;
	bool alive;
	char name[128];
	__u32 vcpus;                    /* distinct vCPUs with aborts since start */
	struct top_win iv;              /* the last interval */
	struct top_win tot;             /* since start (or the last reset) */
};

struct top_view_opts {
	int sort;                       /* enum top_col */
	bool ascending;
	bool totals;                    /* show totals since start, not rates */
	int kind;                       /* enum kvmcmo_kind the focus columns count */
	bool hide_dead;                 /* leave destroyed VMs out */
	const regex_t *name_re;         /* NULL: every name */
	__u32 pid;                      /* 0: every pid */
};

struct top_frame {
	struct top_row *rows;           /* shown: filtered, sorted */
	size_t nrows;
	size_t nvms, nalive;            /* in the sample, before the filters */
	struct top_row total;           /* sum of the shown rows (vcpus summed) */
	double dt;                      /* seconds the interval lasted (0: none yet) */
	double since;                   /* seconds since start (or reset) */
	__u64 stats[KVMCMO_STAT__COUNT];        /* BPF self-observation, since start */
	int kind;
};

/*
 * cur: now; prev: the sample an interval ago (rates); base: the sample at
 * start or at the last reset (totals).  prev and base may be NULL (zero).
 */
int top_frame_build(struct top_frame *f, const struct top_sample *cur,
		    const struct top_sample *prev, const struct top_sample *base,
		    const struct top_view_opts *o);
void top_frame_free(struct top_frame *f);
/* a column's value as shown: totals (since start) or per second; ERRORS
 * is always since start; P50/P99 in ns of the window shown */
double top_row_value(const struct top_row *r, int col, bool totals, double dt);
/* the counted columns of one VM's window for a focus kind */
void top_count_window(const struct top_vmstat *w, int kind, __u64 n[TOP_NCOUNT]);

/* ---- drill.c --------------------------------------------------------------- */

struct top_lines {
	char **v;
	size_t n, cap;
};

void top_lines_free(struct top_lines *l);
/*
 * One VM in detail, as text lines at most width wide: the window's
 * kind x fault x memslot x outcome table, data aborts injected, per-vCPU
 * rows, handler-time and double-fault-gap histograms as bars, per-region
 * rows.  win = cur - ref of that VM; dt > 0 shows rates per second.
 */
int top_drill_lines(struct top_lines *out, const struct top_vmstat *win,
		    const struct top_vmstat *cur, double dt, bool totals, int width);

/* ---- fmt.c --------------------------------------------------------------- */

/* v in at most width characters: exact when it fits, else one decimal,
 * else k/M/G/T/P (".4M" for 400k in three); non-integral values under 10
 * keep one decimal */
char *top_fmt_num(char *buf, size_t len, double v, int width);
/* ns in at most width characters with a unit letter n/u/m/s ("4.1u");
 * 0 is "-" */
char *top_fmt_ns(char *buf, size_t len, __u64 ns, int width);

/* ---- output.c -------------------------------------------------------------- */

enum top_batch_fmt { TOP_OUT_TEXT, TOP_OUT_JSON, TOP_OUT_CSV };

struct top_out_info {
	const char *source;             /* "local probes (fentry)", URL */
	double interval;                /* seconds asked for */
	time_t now;                     /* wall clock of the frame */
	bool final;                     /* the partial frame printed on SIGINT */
};

int top_print_text(FILE *f, const struct top_frame *fr, const struct top_view_opts *o,
		   const struct top_out_info *in);
int top_print_json(FILE *f, const struct top_frame *fr, const struct top_view_opts *o,
		   const struct top_out_info *in);
/* header: print the CSV header line first */
int top_print_csv(FILE *f, const struct top_frame *fr, const struct top_view_opts *o,
		  const struct top_out_info *in, bool header);

/* ---- keys.c ---------------------------------------------------------------- */

enum top_screen { TOP_SCR_MAIN, TOP_SCR_DRILL, TOP_SCR_HELP };
enum top_prompt { TOP_PROMPT_NONE, TOP_PROMPT_FILTER, TOP_PROMPT_PID, TOP_PROMPT_INTERVAL };

#define TOP_INTERVAL_MIN 0.1
#define TOP_INTERVAL_MAX 3600.0

struct top_ui {
	struct top_view_opts view;
	regex_t re;
	bool have_re;
	char filter[128];               /* the regex text, "" for none */
	double interval;                /* seconds */
	enum top_screen screen, back;   /* back: where help returns to */
	int sel;                        /* selected row (main screen) */
	__u64 sel_id;                   /* its VM: kept across re-sorts */
	int first;                      /* first row shown */
	__u64 drill_id;                 /* the VM drilled into */
	int drill_first;                /* first drill-down line shown */
	enum top_prompt prompt;
	char buf[128];                  /* what is typed at the prompt */
	size_t buflen;
	char msg[256];                  /* one-shot status line message */
	bool offer_remote;              /* a local kvmcmod was found: u reads it */
	bool quit, reset, redraw, interval_changed, use_remote;
};

void top_ui_init(struct top_ui *ui);
void top_ui_fini(struct top_ui *ui);
/* 0 or -EINVAL (msg set) */
int top_ui_set_filter(struct top_ui *ui, const char *re);
/*
 * One key (a character or an ncurses KEY_* code).  rows is the frame on
 * screen (for moving the selection), page the rows the screen holds,
 * dlines the drill-down lines there are.
 */
void top_ui_key(struct top_ui *ui, int key, const struct top_frame *fr, int page, int dlines);
/* after a new frame: keep the selection on its VM, keep it on screen */
void top_ui_follow(struct top_ui *ui, const struct top_frame *fr, int page);
extern const char *const top_help_text[];

/* ---- view.c ---------------------------------------------------------------- */

struct top_status {
	const char *source;
	const char *note;               /* "kvmcmod runs here ..." or NULL */
	time_t now;
};

int top_view_open(bool color);          /* 0, or -1 with a message printed */
void top_view_close(void);
int top_view_rows(void);                /* rows of VMs the main screen holds */
int top_view_lines(void);               /* lines of drill-down it holds */
void top_view_draw(const struct top_ui *ui, const struct top_frame *fr,
		   const struct top_lines *drill, const struct top_status *st);
/* next key within ms (-1: none); KEY_RESIZE after a resize, or after a
 * Ctrl-Z once fg resumed the screen (the stop happens in here) */
int top_view_key(int ms);

/* ---- source.c -------------------------------------------------------------- */

struct top_source;
/* url NULL: load the probes (kvmcmo_open); 0 or a KVMCMO_EXIT_* code, with
 * the reason printed, or in why[] when it is not NULL */
int top_source_open(struct top_source **out, const char *url, enum kvmcmo_mode mode,
		    char *why, size_t len);
/* 0, or -errno with a message printed (why[] when not NULL takes it instead) */
int top_source_read(struct top_source *s, struct top_sample *out, char *why, size_t len);
const char *top_source_name(const struct top_source *s);
void top_source_close(struct top_source *s);

/* ---- http.c ---------------------------------------------------------------- */

struct top_url {
	char host[256];
	int port;
	char path[512];
};

/* http://HOST[:PORT][/PATH]; no path means TOP_API_PATH; 0 or -EINVAL */
int top_url_parse(struct top_url *u, const char *url, char *why, size_t len);
/* GET; the body (NUL-terminated, free()) on 200; -errno with why[] otherwise */
int top_http_get(const struct top_url *u, int timeout_s, char **body, size_t *blen,
		 char *why, size_t len);
/* a kvmcmod process on this host: its pid and the URL of its API, else 0;
 * secured: it has --web.config.file (TLS or basic auth: not readable here) */
pid_t top_find_kvmcmod(char *url, size_t len, bool *secured);

/* ---- util.c ---------------------------------------------------------------- */

/* the message into why[len] (when not NULL); returns -EINVAL */
int top_why(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* CLOCK_MONOTONIC, the clock of the BPF side's and the samples' times */
__u64 top_now_ns(void);

/* ---- guard.c --------------------------------------------------------------- */

/* fork the terminal guard (before any probe is loaded: it must not hold
 * their links); 0 or -errno */
int top_guard_start(void);
/* a clean exit: the terminal is restored, the guard can go */
void top_guard_stop(void);
/* SIGSEGV & co.: endwin() then die of the signal */
void top_guard_crash_handlers(void);

#endif /* __KVMCMOTOP_H */
