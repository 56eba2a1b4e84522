// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * main.c - `kvmcmotop`: a live, top-like view of guest aborts per VM, CMOs
 * first.  Options, the source (probes or kvmcmod), then either the screen
 * loop or batch frames.  Exit codes: 0 ok, 1 runtime failure, 2 bad usage,
 * 3 host cannot run kvmcmo.
 */
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "top.h"

static struct env {
	bool batch, json, csv;
	const char *log;
	long iterations;                /* 0: until stopped */
	double delay;
	bool totals;
	int kind;
	int sort;
	bool ascending, sort_set;
	const char *filter;
	__u32 pid;
	const char *remote;
	int mode;
} env = { .delay = 1.0, .kind = KVMCMO_KIND_CMO, .sort = TOP_COL_FOCUS };

static volatile sig_atomic_t exiting;

static const char doc[] =
	"A live, top-like view of arm64 KVM guest aborts per VM: which VM takes\n"
	"cache-maintenance (CMO) aborts, on what memory, and what KVM does with them.\n"
	"\n"
	"USAGE: kvmcmotop [-t] [-k KIND] [-s COL] [-f REGEX] [-p PID] [-d SECS] [-n N]\n"
	"                 [-b [-j | -c] [-L FILE]] [--remote URL] [--attach MODE]\n"
	"\n"
	"EXAMPLES:\n"
	"    kvmcmotop                # the screen; h lists the keys\n"
	"    kvmcmotop -t -k read     # totals since start; the columns count reads\n"
	"    kvmcmotop -b -n 5 -d 2   # five plain-text frames, two seconds apart\n"
	"    kvmcmotop -j -d 10       # one JSON object every ten seconds\n"
	"    kvmcmotop -c -L log.csv  # CSV rows appended to log.csv, like kvm_stat\n"
	"    kvmcmotop --remote http://127.0.0.1:10131  # read a running kvmcmod";

enum { OPT_REMOTE = 0x100, OPT_ATTACH };

static const struct argp_option opts[] = {
	{ "batch", 'b', NULL, 0, "Plain-text frames on stdout instead of the screen", 0 },
	{ "iterations", 'n', "ITER", 0, "Stop after ITER frames", 0 },
	{ "delay", 'd', "SECONDS", 0, "Seconds between frames (default 1, from 0.1)", 0 },
	{ "json", 'j', NULL, 0, "Batch: one JSON object per frame", 0 },
	{ "csv", 'c', NULL, 0, "Batch: CSV rows (header first)", 0 },
	{ "log-to-file", 'L', "FILE", 0, "Batch: append the frames to FILE", 0 },
	{ "totals", 't', NULL, 0, "Show totals since start, not rates per second", 0 },
	{ "kind", 'k', "KIND", 0, "What the CMO..ERR columns count: cmo (default), s1ptw, "
	  "write, read or exec", 0 },
	{ "sort", 's', "COLUMN", 0, "Sort by COLUMN (a header: ABRT, CMO, NAME, ...; "
	  "-COLUMN reverses)", 0 },
	{ "filter", 'f', "REGEX", 0, "Only VMs whose name matches REGEX (extended)", 0 },
	{ "pid", 'p', "PID", 0, "Only the VMs of this VMM process", 0 },
	{ "remote", OPT_REMOTE, "URL", 0, "Read a kvmcmod at URL (http://HOST:PORT) instead of "
	  "loading the probes", 0 },
	{ "attach", OPT_ATTACH, "MODE", 0, "auto (default), fentry or kprobe", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's messages", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char *end;
	long v;

	(void)state;
	switch (key) {
	case 'b':
		env.batch = true;
		break;
	case 'n':
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || end == arg || v <= 0) {
			kvmcmo_usage_err("invalid iteration count '%s'", arg);
			return EINVAL;
		}
		env.iterations = v;
		break;
	case 'd':
		env.delay = strtod(arg, &end);
		if (*end || end == arg || !(env.delay >= TOP_INTERVAL_MIN &&
					    env.delay <= TOP_INTERVAL_MAX)) {
			kvmcmo_usage_err("invalid delay '%s' (%.1f to %.0f seconds)", arg,
					 TOP_INTERVAL_MIN, TOP_INTERVAL_MAX);
			return EINVAL;
		}
		break;
	case 'j':
		env.json = true;
		break;
	case 'c':
		env.csv = true;
		break;
	case 'L':
		env.log = arg;
		break;
	case 't':
		env.totals = true;
		break;
	case 'k':
		env.kind = kvmcmo_label_index(kvmcmo_kind_label, TOP_NK, arg);
		if (env.kind < 0) {
			kvmcmo_usage_err("invalid kind '%s' (cmo, s1ptw, write, read or exec)", arg);
			return EINVAL;
		}
		break;
	case 's':
		env.ascending = arg[0] == '-';
		env.sort = top_col_by_name(arg + env.ascending);
		if (env.sort < 0) {
			kvmcmo_usage_err("invalid sort column '%s' (a column header, e.g. ABRT)", arg);
			return EINVAL;
		}
		env.sort_set = true;
		break;
	case 'f':
		env.filter = arg;
		break;
	case 'p':
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || end == arg || v <= 0 || v > 0x7fffffff) {
			kvmcmo_usage_err("invalid PID '%s'", arg);
			return EINVAL;
		}
		env.pid = (__u32)v;
		break;
	case OPT_REMOTE:
		env.remote = arg;
		break;
	case OPT_ATTACH:
		env.mode = kvmcmo_mode_parse(arg);
		if (env.mode < 0) {
			kvmcmo_usage_err("invalid attach mode '%s' (auto, fentry or kprobe)", arg);
			return EINVAL;
		}
		break;
	case 'v':
		kvmcmo_verbose = 1;
		break;
	case ARGP_KEY_ARG:
		kvmcmo_usage_err("unexpected argument '%s'", arg);
		return EINVAL;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* no SA_RESTART: a sleep or a read must return so the loop can end */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* sleep until the monotonic deadline; a signal ends it early */
static void sleep_until(__u64 deadline)
{
	while (!exiting) {
		__u64 t = top_now_ns();
		struct timespec ts;

		if (t >= deadline)
			return;
		ts.tv_sec = (deadline - t) / 1000000000ULL;
		ts.tv_nsec = (deadline - t) % 1000000000ULL;
		nanosleep(&ts, NULL);
	}
}

static void replace(struct top_sample *dst, struct top_sample *src)
{
	top_sample_free(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

/* ---- batch ----------------------------------------------------------------- */

static int run_batch(struct top_source *src, struct top_view_opts *vo)
{
	struct top_sample base, prev, cur;
	struct top_out_info in = { .source = top_source_name(src), .interval = env.delay };
	FILE *out = stdout;
	bool header = true;
	__u64 deadline;
	int err = 0;

	if (env.log) {
		out = fopen(env.log, "a");
		if (!out) {
			kvmcmo_err("cannot open %s: %s", env.log, strerror(errno));
			return KVMCMO_EXIT_FAIL;
		}
		header = ftell(out) == 0;
	}
	if (top_source_read(src, &base, NULL, 0)) {
		if (out != stdout)
			fclose(out);
		return KVMCMO_EXIT_FAIL;
	}
	fprintf(stderr, "Tracing guest aborts (%s)... Hit Ctrl-C to end.\n", in.source);
	memset(&prev, 0, sizeof(prev));
	memset(&cur, 0, sizeof(cur));
	deadline = base.taken_ns;
	/*
	 * A signal during a sleep ends it: the frame then covers the partial
	 * interval and is the last.  A signal during a read or a write is
	 * seen after it: one more frame, at once, is the last.
	 */
	for (long i = 0; !env.iterations || i < env.iterations; i++) {
		struct top_frame fr;
		char why[512];

		deadline += (__u64)(env.delay * 1e9);
		sleep_until(deadline);
		in.final = exiting;
		if (top_source_read(src, &cur, why, sizeof(why))) {
			kvmcmo_warn("%s", why);
			if (exiting)
				break;
			continue;
		}
		err = top_frame_build(&fr, &cur, prev.vms || prev.taken_ns ? &prev : &base,
				      &base, vo);
		if (err) {
			kvmcmo_err("out of memory");
			err = KVMCMO_EXIT_FAIL;
			break;
		}
		in.now = time(NULL);
		if (env.json)
			err = top_print_json(out, &fr, vo, &in);
		else if (env.csv)
			err = top_print_csv(out, &fr, vo, &in, header);
		else
			err = top_print_text(out, &fr, vo, &in);
		header = false;
		top_frame_free(&fr);
		fflush(out);
		replace(&prev, &cur);
		if (err) {
			kvmcmo_err("cannot write the frame: %s", strerror(-err));
			err = KVMCMO_EXIT_FAIL;
			break;
		}
		if (in.final)
			break;
		if (exiting)            /* the final frame next, without -n's limit */
			i--;
	}
	top_sample_free(&base);
	top_sample_free(&prev);
	top_sample_free(&cur);
	if (out != stdout && fclose(out) && !err) {
		kvmcmo_err("cannot write %s: %s", env.log, strerror(errno));
		err = KVMCMO_EXIT_FAIL;
	}
	return err;
}

/* ---- the screen -------------------------------------------------------------- */

struct screen {
	struct top_ui ui;
	struct top_sample base, prev, cur;
	bool have_prev;
	struct top_frame fr;
	struct top_lines drill;
	struct top_status st;
};

static void rebuild(struct screen *s)
{
	const struct top_vmstat *v;

	top_frame_free(&s->fr);
	top_lines_free(&s->drill);
	if (top_frame_build(&s->fr, &s->cur, s->have_prev ? &s->prev : &s->cur, &s->base,
			    &s->ui.view))
		snprintf(s->ui.msg, sizeof(s->ui.msg), "out of memory");
	top_ui_follow(&s->ui, &s->fr, top_view_rows());
	if (s->ui.screen != TOP_SCR_DRILL && !(s->ui.screen == TOP_SCR_HELP &&
					      s->ui.back == TOP_SCR_DRILL))
		return;
	v = top_sample_find(&s->cur, s->ui.drill_id);
	if (v) {
		const struct top_sample *ref = s->ui.view.totals ? &s->base :
					       s->have_prev ? &s->prev : &s->cur;
		struct top_vmstat w;

		if (!top_vmstat_diff(&w, v, top_sample_find(ref, v->id))) {
			top_drill_lines(&s->drill, &w, v, s->ui.view.totals ? 0 : s->fr.dt,
					s->ui.view.totals, COLS);
			top_vmstat_free(&w);
		}
	}
	/* keep the scroll position inside the text */
	if (s->ui.drill_first > (int)s->drill.n - top_view_lines())
		s->ui.drill_first = (int)s->drill.n - top_view_lines();
	if (s->ui.drill_first < 0)
		s->ui.drill_first = 0;
}

/*
 * u: read the local kvmcmod instead of the probes.  The new source answers
 * first; then the probes go (closing the source detaches them) and every
 * window starts again from the kvmcmod's first reading.
 */
static void switch_to_remote(struct screen *s, struct top_source **src, const char *url)
{
	struct top_source *n;
	struct top_sample base, cur;
	char why[512];

	s->ui.use_remote = false;
	if (top_source_open(&n, url, KVMCMO_MODE_AUTO, why, sizeof(why)))
		goto fail;
	if (top_source_read(n, &base, why, sizeof(why)))
		goto close;
	if (top_source_read(n, &cur, why, sizeof(why))) {
		top_sample_free(&base);
		goto close;
	}
	top_source_close(*src);
	*src = n;
	replace(&s->base, &base);
	replace(&s->cur, &cur);
	top_sample_free(&s->prev);
	s->have_prev = false;
	s->st.source = top_source_name(n);
	s->st.note = NULL;
	s->ui.offer_remote = false;
	snprintf(s->ui.msg, sizeof(s->ui.msg), "probes detached: reading %.200s, totals from now",
		 top_source_name(n));
	return;
close:
	top_source_close(n);
fail:
	snprintf(s->ui.msg, sizeof(s->ui.msg), "u: %.250s", why);
}

/* note: the screen's third line (NULL: none); remote_url: the local
 * kvmcmod the key u switches to ("": none) */
static int run_screen(struct top_source **srcp, struct top_ui *init, const char *note,
		      const char *remote_url)
{
	struct screen *s = calloc(1, sizeof(*s));
	struct top_source *src = *srcp;
	long frames = 0;
	__u64 deadline;
	int err = 0;

	if (!s) {
		kvmcmo_err("out of memory");
		return KVMCMO_EXIT_FAIL;
	}
	s->ui = *init;
	s->ui.offer_remote = remote_url && *remote_url;
	s->st.source = top_source_name(src);
	s->st.note = note;
	if (top_source_read(src, &s->base, NULL, 0) ||
	    top_source_read(src, &s->cur, NULL, 0)) {
		top_sample_free(&s->base);
		free(s);
		return KVMCMO_EXIT_FAIL;
	}
	if (top_view_open(!getenv("NO_COLOR") || !*getenv("NO_COLOR"))) {
		top_sample_free(&s->base);
		top_sample_free(&s->cur);
		free(s);
		return KVMCMO_EXIT_FAIL;
	}
	deadline = s->cur.taken_ns + (__u64)(s->ui.interval * 1e9);
	s->st.now = time(NULL);
	rebuild(s);
	top_view_draw(&s->ui, &s->fr, &s->drill, &s->st);

	while (!exiting && !s->ui.quit) {
		__u64 t = top_now_ns();
		int ms = t >= deadline ? 0 : (int)((deadline - t) / 1000000);
		int key = top_view_key(ms > 250 ? 250 : ms);

		if (key != ERR) {
			int page = s->ui.screen == TOP_SCR_DRILL ? top_view_lines() : top_view_rows();

			top_ui_key(&s->ui, key, &s->fr, page, (int)s->drill.n);
			if (s->ui.use_remote) {
				switch_to_remote(s, &src, remote_url);
				*srcp = src;
				deadline = s->cur.taken_ns + (__u64)(s->ui.interval * 1e9);
			}
			if (s->ui.reset) {
				struct top_sample b;

				s->ui.reset = false;
				if (!top_source_read(src, &b, s->ui.msg, sizeof(s->ui.msg)))
					replace(&s->base, &b);
			}
			if (s->ui.interval_changed) {
				s->ui.interval_changed = false;
				deadline = top_now_ns() + (__u64)(s->ui.interval * 1e9);
			}
		}
		if (top_now_ns() >= deadline) {
			struct top_sample n;
			char why[512];

			if (!top_source_read(src, &n, why, sizeof(why))) {
				replace(&s->prev, &s->cur);
				s->cur = n;
				s->have_prev = true;
			} else {
				snprintf(s->ui.msg, sizeof(s->ui.msg), "%.250s", why);
			}
			deadline += (__u64)(s->ui.interval * 1e9);
			if (deadline < top_now_ns())
				deadline = top_now_ns() + (__u64)(s->ui.interval * 1e9);
			s->ui.redraw = true;
			if (env.iterations && ++frames >= env.iterations)
				s->ui.quit = true;
		}
		if (s->ui.redraw && !s->ui.quit) {
			s->ui.redraw = false;
			s->st.now = time(NULL);
			rebuild(s);
			top_view_draw(&s->ui, &s->fr, &s->drill, &s->st);
		}
	}
	top_view_close();
	top_frame_free(&s->fr);
	top_lines_free(&s->drill);
	top_sample_free(&s->base);
	top_sample_free(&s->prev);
	top_sample_free(&s->cur);
	*init = s->ui;
	free(s);
	return err;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, NULL, doc, NULL, NULL, NULL };
	struct top_source *src = NULL;
	char url[300] = "", note[400] = "";
	struct top_ui ui;
	bool secured = false;
	pid_t kd = 0;
	int err;

	setlocale(LC_ALL, "");
	kvmcmo_log_init("kvmcmotop");
	err = kvmcmo_argp_parse(&argp, argc, argv, NULL);
	if (err)
		return err == KVMCMO_ARGP_HELP ? 0 : err;
	if (env.json && env.csv) {
		kvmcmo_usage_err("-j and -c exclude each other");
		return KVMCMO_EXIT_USAGE;
	}
	env.batch |= env.json || env.csv || env.log;

	top_ui_init(&ui);
	ui.view.totals = env.totals;
	ui.view.kind = env.kind;
	ui.view.pid = env.pid;
	ui.interval = env.delay;
	if (env.sort_set || env.sort != TOP_COL_FOCUS) {
		ui.view.sort = env.sort;
		ui.view.ascending = env.ascending;
	}
	if (env.filter && top_ui_set_filter(&ui, env.filter)) {
		kvmcmo_usage_err("%s", ui.msg);
		return KVMCMO_EXIT_USAGE;
	}
	ui.msg[0] = 0;
	if (!env.batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		kvmcmo_err("not a terminal: use -b for batch output");
		top_ui_fini(&ui);
		return KVMCMO_EXIT_FAIL;
	}

	/* a kvmcmod already counts here: say so, and how to read it */
	if (!env.remote)
		kd = top_find_kvmcmod(url, sizeof(url), &secured);
	if (kd && secured) {
		snprintf(note, sizeof(note), "kvmcmod (pid %d) counts here too, behind TLS or "
			 "basic auth: not readable here", (int)kd);
		fprintf(stderr, "%s: %s\n", kvmcmo_prog, note);
		url[0] = 0;
	} else if (kd) {
		fprintf(stderr, "%s: kvmcmod (pid %d) counts on this host: --remote %s reads it "
			"without loading the probes twice\n", kvmcmo_prog, (int)kd, url);
		snprintf(note, sizeof(note), "kvmcmod (pid %d) counts here: press u to read %s "
			 "instead", (int)kd, url);
	}

	install_signals();
	if (!env.batch) {
		/* before the probes: the guard must not inherit their links */
		if (top_guard_start())
			kvmcmo_warn("no terminal guard: a kill -9 will leave the terminal raw");
		top_guard_crash_handlers();
	} else {
		signal(SIGPIPE, SIG_DFL);
	}
	err = top_source_open(&src, env.remote, env.mode, NULL, 0);
	if (!err)
		err = env.batch ? run_batch(src, &ui.view) :
		      run_screen(&src, &ui, kd ? note : NULL, url);
	top_source_close(src);
	top_guard_stop();
	top_ui_fini(&ui);
	return err;
}
