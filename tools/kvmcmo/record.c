// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * record.c - `kvmcmo record`: counts, histograms and per-interval rates of
 * guest aborts for a time window or for the life of a command, written as
 * one versioned JSON recording (recfile.h, docs/record-schema.md) that
 * `kvmcmo diff` compares.
 *
 * Each sample is the difference of two cumulative snapshots (the counters
 * are never reset), so nothing that happens between samples is lost or
 * counted twice.  A sample holds the VMs that were alive at some moment of
 * it, each with a key for matching across samples and recordings.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "cli.h"
#include "recfile.h"

#define REC_MAX_REPEAT 10000
#define REC_POLL_NS 20000000ULL         /* how often a running command is polled */

static struct rec_env {
	const char *out;
	pid_t pid;
	int mode;
	double seconds;                 /* -d; 0 with a command */
	double interval;                /* -i, seconds */
	long repeat;
	char **cmd;                     /* after "--" */
	int ncmd;
} env = { .interval = 1.0, .repeat = 1 };

static const char doc[] =
	"Record guest abort counts, histograms and rates into a file for kvmcmo diff.\n"
	"\n"
	"USAGE: kvmcmo record -o FILE [-p PID] [-r N] [-i SECS] [--attach MODE]\n"
	"                     (-d SECONDS | -- COMMAND [ARG...])\n"
	"\n"
	"EXAMPLES:\n"
	"    kvmcmo record -o base.json -d 30            # 30 s of every VM on this host\n"
	"    kvmcmo record -o base.json -r 5 -- ./boot-test.sh   # 5 runs, 5 samples\n"
	"    kvmcmo record -o new.json -p 4242 -d 10 -r 6 # six 10 s windows of one VMM\n"
	"    kvmcmo diff base.json new.json               # what changed, and is it real\n"
	"\n"
	"With a COMMAND, kvmcmo record exits with the command's status (the first\n"
	"failing run's with -r); 128+N when a signal N ended it.";

static const struct argp_option opts[] = {
	{ "output", 'o', "FILE", 0, "Write the recording to FILE (required)", 0 },
	{ "duration", 'd', "SECONDS", 0, "Record a window of SECONDS (instead of a command)", 0 },
	{ "repeat", 'r', "N", 0, "N samples: run COMMAND N times, or N windows (default 1)", 0 },
	{ "interval", 'i', "SECS", 0, "Rate interval (default 1 s)", 0 },
	{ "pid", 'p', "PID", 0, "Only VMs of this VMM process", 0 },
	{ "attach", 'a', "MODE", 0, "auto (default), fentry or kprobe", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's messages", 0 },
	{},
};

/* a positive number of seconds, at most max */
static int parse_seconds(const char *s, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > max || isnan(v))
		return -1;
	*out = v;
	return 0;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	long v;

	(void)state;
	switch (key) {
	case 'o':
		if (!*arg) {
			kvmcmo_usage_err("empty output file name");
			return EINVAL;
		}
		env.out = arg;
		break;
	case 'd':
		if (parse_seconds(arg, 86400.0 * 365, &env.seconds)) {
			kvmcmo_usage_err("invalid duration '%s' (seconds, > 0)", arg);
			return EINVAL;
		}
		break;
	case 'i':
		if (parse_seconds(arg, 86400.0, &env.interval) || env.interval < 0.01) {
			kvmcmo_usage_err("invalid interval '%s' (seconds, 0.01 to 86400)", arg);
			return EINVAL;
		}
		break;
	case 'r':
		v = parse_positive(arg, REC_MAX_REPEAT);
		if (v < 0) {
			kvmcmo_usage_err("invalid repeat count '%s' (1 to %d)", arg, REC_MAX_REPEAT);
			return EINVAL;
		}
		env.repeat = v;
		break;
	case 'p':
		v = parse_positive(arg, 0x7fffffff);
		if (v < 0) {
			kvmcmo_usage_err("invalid PID '%s'", arg);
			return EINVAL;
		}
		env.pid = v;
		break;
	case 'a':
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
		kvmcmo_usage_err("unexpected argument '%s' (a command goes after '--')", arg);
		return EINVAL;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ---- signals: ours end the recording, a command gets them too ---------------- */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
	exiting = 1;
}

static void install_handlers(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* no SA_RESTART: a sleep must return so the loop sees the signal */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static __u64 now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static void sleep_ns(__u64 ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ULL, .tv_nsec = ns % 1000000000ULL };

	nanosleep(&ts, NULL);   /* a signal ends it early: the caller looks */
}

/* ---- per-interval rates, by VM id ------------------------------------------ */

struct tl_vm {
	__u64 id;
	__u64 last;                     /* cumulative aborts at the last tick */
	__u64 *v;
	size_t n, cap;
};

struct timeline {
	struct tl_vm *vms;
	size_t n, cap;
	size_t ticks;                   /* intervals closed so far */
};

static struct tl_vm *tl_find(struct timeline *t, __u64 id, bool add)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->vms[mid].id == id)
			return &t->vms[mid];
		if (t->vms[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!add)
		return NULL;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct tl_vm *nv = realloc(t->vms, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		t->vms = nv;
		t->cap = cap;
	}
	memmove(&t->vms[lo + 1], &t->vms[lo], (t->n - lo) * sizeof(*t->vms));
	memset(&t->vms[lo], 0, sizeof(t->vms[lo]));
	t->vms[lo].id = id;
	t->n++;
	return &t->vms[lo];
}

static void tl_free(struct timeline *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->vms[i].v);
	free(t->vms);
	memset(t, 0, sizeof(*t));
}

/* run f(vm id, total aborts) for each VM with abort rows (rows sorted by key,
 * and every key starts with the VM id) */
static int tl_totals(const struct kvmcmo_snapshot *s, struct timeline *t, bool baseline)
{
	for (size_t i = 0; i < s->naborts;) {
		__u64 id = s->aborts[i].key.vm, tot = 0;
		struct tl_vm *v;

		for (; i < s->naborts && s->aborts[i].key.vm == id; i++)
			tot += s->aborts[i].count;
		v = tl_find(t, id, true);
		if (!v)
			return -ENOMEM;
		if (baseline) {
			v->last = tot;
			continue;
		}
		/* pad intervals from before the VM was seen, then this one */
		if (v->cap < t->ticks + 1) {
			size_t cap = 2 * (t->ticks + 1);
			__u64 *nv = realloc(v->v, cap * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			v->v = nv;
			v->cap = cap;
		}
		while (v->n < t->ticks)
			v->v[v->n++] = 0;
		v->v[v->n++] = tot - v->last;
		v->last = tot;
	}
	return 0;
}

/* close one interval at snapshot s */
static int tl_tick(struct timeline *t, const struct kvmcmo_snapshot *s)
{
	int err = tl_totals(s, t, false);

	t->ticks++;
	return err;
}

/* ---- one sample --------------------------------------------------------------- */

/* the VMs alive at some moment of the sample [start, ...) */
static bool in_sample(const struct kvmcmo_vm *vm, __u64 start_ns)
{
	return vm->first_ns >= start_ns || !vm->destroyed_ns || vm->destroyed_ns >= start_ns;
}

static json_t *sample_json(struct kvmcmo_snapshot *d, __u64 start_ns, struct timeline *t,
			   const struct rec_sample_info *info, json_t *names)
{
	struct kvmcmo_snapshot view = *d;
	struct kvmcmo_vm *vms = malloc((d->nvms + 1) * sizeof(*vms));
	struct rec_rate *rates = calloc(d->nvms + 1, sizeof(*rates));
	json_t *j = NULL, *v;
	size_t n = 0, i;

	if (!vms || !rates)
		goto out;
	for (i = 0; i < d->nvms; i++)
		if (in_sample(&d->vms[i], start_ns))
			vms[n++] = d->vms[i];
	view.vms = vms;
	view.nvms = n;
	for (i = 0; i < n; i++) {
		struct tl_vm *tv = tl_find(t, vms[i].id, false);

		/* every VM gets one number per interval of the sample */
		if (tv && tv->n < t->ticks) {
			__u64 *nv = realloc(tv->v, t->ticks * sizeof(*nv));

			if (!nv)
				goto out;
			tv->v = nv;
			tv->cap = t->ticks;
			while (tv->n < t->ticks)
				tv->v[tv->n++] = 0;
		}
		rates[i].per_interval = tv ? tv->v : NULL;
		rates[i].n = tv ? tv->n : 0;
	}
	j = rec_sample_json(&view, rates, info);
	json_array_foreach(j ? json_object_get(j, "vms") : NULL, i, v)
		json_array_append(names, json_object_get(v, "key"));
out:
	free(vms);
	free(rates);
	return j;
}

/* ---- the command ----------------------------------------------------------------- */

static pid_t start_command(void)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		kvmcmo_err("cannot start '%s': fork: %s", env.cmd[0], strerror(errno));
		return -1;
	}
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = SIG_DFL };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		execvp(env.cmd[0], env.cmd);
		kvmcmo_err("cannot run '%s': %s", env.cmd[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* the shell's convention: the exit status, or 128 + the signal */
static int status_of(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

/*
 * Wait for the end of a sample (the command's exit or the window's end),
 * closing rate intervals on the way.  *status gets the command's status.
 */
static int wait_sample(struct kvmcmo *k, struct timeline *t, pid_t child, __u64 start,
		       int *status, bool *interrupted)
{
	__u64 interval = (__u64)(env.interval * 1e9), end = start + (__u64)(env.seconds * 1e9);
	__u64 next = start + interval;
	bool forwarded = false;
	int err = 0;

	for (;;) {
		__u64 now = now_ns(CLOCK_MONOTONIC), until = next;

		if (child > 0) {
			int st;
			pid_t w = waitpid(child, &st, WNOHANG);

			if (w == child) {
				*status = status_of(st);
				return 0;
			}
			if (w < 0 && errno != EINTR) {
				kvmcmo_err("waitpid: %s", strerror(errno));
				*status = 1;
				return 0;
			}
			if (exiting && !forwarded) {
				/* the terminal's ^C reached the command already;
				 * a signal sent to us alone is passed on */
				kill(child, got_signal ? got_signal : SIGTERM);
				forwarded = true;
				*interrupted = true;
			}
			if (until > now + REC_POLL_NS)
				until = now + REC_POLL_NS;
		} else {
			if (exiting) {
				*interrupted = true;
				return 0;
			}
			if (now >= end)
				return 0;
			if (until > end)
				until = end;
		}
		if (now >= next) {
			struct kvmcmo_snapshot s;

			err = kvmcmo_snapshot_read(k, &s);
			if (err) {
				kvmcmo_err("failed to read the counters: %s", strerror(-err));
				return err;
			}
			err = tl_tick(t, &s);
			kvmcmo_snapshot_free(&s);
			if (err)
				return err;
			next += interval;
			continue;
		}
		sleep_ns(until > now ? until - now : 0);
	}
}

/* ---- the document ------------------------------------------------------------ */

static json_t *meta_json(const struct kvmcmo *k)
{
	const struct kvmcmo_plan *plan = kvmcmo_get_plan(k);
	json_t *probes = json_array(), *cmd = json_null(), *o;
	struct utsname u;
	char host[256] = "";

	if (uname(&u))
		memset(&u, 0, sizeof(u));
	gethostname(host, sizeof(host) - 1);
	for (int i = 0; plan && i < plan->nrows; i++) {
		const struct kvmcmo_plan_row *r = &plan->rows[i];

		json_array_append_new(probes, json_pack("{s:s, s:s, s:s, s:b}",
				      "role", r->role, "function", r->function,
				      "mode", kvmcmo_mode_name(r->mode), "required", r->required));
	}
	if (env.ncmd) {
		cmd = json_array();
		for (int i = 0; i < env.ncmd; i++)
			json_array_append_new(cmd, json_string(env.cmd[i]));
	}
	o = json_pack("{s:s, s:i, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s},"
		      " s:{s:s, s:o}, s:{s:s, s:o, s:o, s:o, s:I}, s:I}",
		      "format", REC_FORMAT, "schema", REC_SCHEMA,
		      "tool", "name", "kvmcmo", "version", KVMCMO_VERSION,
		      "host", "hostname", host, "kernel_release", u.release,
		      "kernel_version", u.version, "machine", u.machine,
		      "attach", "requested", kvmcmo_mode_name(env.mode), "probes", probes,
		      "target", "mode", env.ncmd ? "command" : "duration", "command", cmd,
		      "seconds", env.ncmd ? json_null() : json_real(env.seconds),
		      "pid", env.pid ? json_integer(env.pid) : json_null(),
		      "repeat", (json_int_t)env.repeat,
		      "interval_ns", (json_int_t)(env.interval * 1e9));
	return o;
}

static int cmp_json_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
		      json_string_value(*(json_t *const *)b));
}

/* the sorted unique keys of every sample */
static json_t *unique_names(json_t *names)
{
	size_t n = json_array_size(names), i;
	json_t **v = malloc((n + 1) * sizeof(*v)), *out = json_array();

	if (!v || !out) {
		free(v);
		json_decref(out);
		return NULL;
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(names, i);
	qsort(v, n, sizeof(*v), cmp_json_str);
	for (i = 0; i < n; i++)
		if (!i || strcmp(json_string_value(v[i]), json_string_value(v[i - 1])))
			json_array_append(out, v[i]);
	free(v);
	return out;
}

static int write_doc(json_t *doc, FILE *f, const char *tmp)
{
	if (json_dumpf(doc, f, JSON_COMPACT) || fputc('\n', f) == EOF || fflush(f) ||
	    (f != stdout && fsync(fileno(f)))) {
		kvmcmo_err("cannot write %s: %s", tmp ? tmp : "stdout", strerror(errno));
		return KVMCMO_EXIT_FAIL;
	}
	return 0;
}

int cmd_record(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, "(-d SECONDS | -- COMMAND...)", doc,
					  NULL, NULL, NULL };
	struct kvmcmo_snapshot prev = {}, cur = {}, d = {};
	struct kvmcmo_opts o = {};
	struct kvmcmo *k = NULL;
	json_t *doc = NULL, *samples = NULL, *names = NULL;
	char *tmp = NULL, start[40];
	FILE *f = NULL;
	int err, status = 0, nargs = argc;
	__u64 total_ns = 0, first_unix = 0;
	bool stopped = false;

	kvmcmo_log_init("kvmcmo record");
	/* everything after "--" is the command, untouched by argp */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			nargs = i;
			env.cmd = argv + i + 1;
			env.ncmd = argc - i - 1;
			break;
		}
	err = kvmcmo_argp_parse(&argp, nargs, argv, NULL);
	if (err)
		return err == KVMCMO_ARGP_HELP ? 0 : err;
	if (!env.out) {
		kvmcmo_usage_err("missing -o FILE");
		return KVMCMO_EXIT_USAGE;
	}
	if (env.cmd && !env.ncmd) {
		kvmcmo_usage_err("missing command after '--'");
		return KVMCMO_EXIT_USAGE;
	}
	if (!env.ncmd == !(env.seconds > 0)) {
		kvmcmo_usage_err(env.ncmd ? "-d and a command exclude each other"
				 : "nothing to record: give -d SECONDS or -- COMMAND");
		return KVMCMO_EXIT_USAGE;
	}

	/* the output first: fail before attaching anything */
	if (strcmp(env.out, "-")) {
		int fd;

		if (asprintf(&tmp, "%s.tmp.%d", env.out, (int)getpid()) < 0) {
			kvmcmo_err("out of memory");
			return KVMCMO_EXIT_FAIL;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		f = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!f) {
			kvmcmo_err("cannot create %s: %s", env.out, strerror(errno));
			if (fd >= 0)
				close(fd);
			free(tmp);
			return KVMCMO_EXIT_FAIL;
		}
	} else {
		f = stdout;
	}

	install_handlers();
	o.pid = env.pid;
	o.mode = env.mode;
	err = kvmcmo_open(&k, &o);
	if (err)
		goto cleanup;
	doc = meta_json(k);
	samples = json_array();
	names = json_array();
	if (!doc || !samples || !names) {
		kvmcmo_err("out of memory");
		err = KVMCMO_EXIT_FAIL;
		goto cleanup;
	}
	err = kvmcmo_snapshot_read(k, &prev);
	if (err) {
		kvmcmo_err("failed to read the counters: %s", strerror(-err));
		err = KVMCMO_EXIT_FAIL;
		goto cleanup;
	}
	if (!env.ncmd)
		fprintf(stderr, "Recording guest aborts for %g s%s... Hit Ctrl-C to end.\n",
			env.seconds, env.repeat > 1 ? " per sample" : "");

	for (long r = 0; r < env.repeat && !stopped; r++) {
		struct rec_sample_info info = { .exit_status = -1,
						.interval_ns = (__u64)(env.interval * 1e9) };
		struct timeline t = {};
		__u64 start_ns = now_ns(CLOCK_MONOTONIC);
		pid_t child = 0;
		int st = 0;
		json_t *sj;

		info.start_unix_ns = now_ns(CLOCK_REALTIME);
		if (!r)
			first_unix = info.start_unix_ns;
		err = tl_totals(&prev, &t, true);
		if (!err && env.ncmd) {
			child = start_command();
			if (child < 0)
				err = KVMCMO_EXIT_FAIL;
		}
		if (!err)
			err = wait_sample(k, &t, child, start_ns, &st, &info.interrupted);
		if (!err) {
			err = kvmcmo_snapshot_read(k, &cur);
			if (!err)
				err = tl_tick(&t, &cur);
			if (!err)
				err = kvmcmo_snapshot_delta(&cur, &prev, &d);
			if (err)
				kvmcmo_err("failed to read the counters: %s", strerror(-err));
		}
		if (err) {
			if (child > 0) {
				kill(child, SIGTERM);
				waitpid(child, NULL, 0);
			}
			tl_free(&t);
			err = KVMCMO_EXIT_FAIL;
			goto cleanup;
		}
		info.duration_ns = cur.taken_ns > start_ns ? cur.taken_ns - start_ns : 1;
		total_ns += info.duration_ns;
		if (env.ncmd) {
			info.exit_status = st;
			if (st && !status)
				status = st;
		}
		sj = sample_json(&d, start_ns, &t, &info, names);
		tl_free(&t);
		kvmcmo_snapshot_free(&d);
		kvmcmo_snapshot_free(&prev);
		prev = cur;
		memset(&cur, 0, sizeof(cur));
		if (!sj || json_array_append_new(samples, sj)) {
			kvmcmo_err("out of memory");
			err = KVMCMO_EXIT_FAIL;
			goto cleanup;
		}
		stopped = info.interrupted;
	}

	rec_iso_time(first_unix, start, sizeof(start));
	if (json_object_set_new(doc, "start", json_string(start)) ||
	    json_object_set_new(doc, "start_unix_ns", json_integer((json_int_t)first_unix)) ||
	    json_object_set_new(doc, "duration_ns", json_integer((json_int_t)total_ns)) ||
	    json_object_set_new(doc, "vm_keys", unique_names(names)) ||
	    json_object_set(doc, "samples", samples)) {
		kvmcmo_err("out of memory");
		err = KVMCMO_EXIT_FAIL;
		goto cleanup;
	}
	err = write_doc(doc, f, tmp);
	if (!err && tmp) {
		if (fclose(f)) {
			f = NULL;
			kvmcmo_err("cannot write %s: %s", tmp, strerror(errno));
			err = KVMCMO_EXIT_FAIL;
			goto cleanup;
		}
		f = NULL;
		if (rename(tmp, env.out)) {
			kvmcmo_err("cannot rename %s to %s: %s", tmp, env.out, strerror(errno));
			err = KVMCMO_EXIT_FAIL;
			goto cleanup;
		}
		free(tmp);
		tmp = NULL;
	}
cleanup:
	if (f && f != stdout)
		fclose(f);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	json_decref(doc);
	json_decref(samples);
	json_decref(names);
	kvmcmo_snapshot_free(&prev);
	kvmcmo_snapshot_free(&cur);
	kvmcmo_close(k);
	/* a command's status passes through once the recording is written */
	return err ? err : status;
}
