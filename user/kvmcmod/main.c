// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * main.c - kvmcmod: attach once, poll the kernel maps every interval into
 * a monotonic per-VM model, serve it to Prometheus over HTTP (and as a
 * node_exporter textfile).
 *
 * Threads: this one polls and handles signals (blocked everywhere, taken
 * with sigtimedwait() between polls); libmicrohttpd's one serves HTTP.
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage, 3 unsupported host.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <linux/bpf.h>
#include <linux/capability.h>

#include "kvmcmod.h"
#include "cli.h"

static struct env {
	struct kd_opts o;
	const char *listen;
	const char *textfile;
	const char *webcfg;
	pid_t pid;
	int mode;
	bool check;
	bool keep_caps;
} env = {
	.o = { .interval_ns = 1000000000ULL, .max_vms = KVMCMO_MAX_VMS,
	       .regions = KD_DEFAULT_REGIONS },
	.listen = KD_DEFAULT_LISTEN,
};

enum {
	OPT_LISTEN = 0x100, OPT_TEXTFILE, OPT_GRACE, OPT_MAX_VMS, OPT_REGIONS,
	OPT_PER_VM_LAT, OPT_CHECK, OPT_KEEP_CAPS, OPT_WEBCFG,
};

static const char doc[] =
	"Serve per-VM arm64 KVM guest abort counters and histograms to Prometheus.\n"
	"\n"
	"USAGE: kvmcmod [--web.listen-address ADDR] [-i INTERVAL] [--textfile PATH]\n"
	"               [--vm-grace DURATION] [--max-vms N] [--check] ...\n"
	"\n"
	"EXAMPLES:\n"
	"    kvmcmod                     # http://127.0.0.1:10131/metrics, poll every 1 s\n"
	"    kvmcmod --web.listen-address :10131   # every address (think twice)\n"
	"    kvmcmod --textfile /var/lib/node_exporter/textfile_collector/kvmcmo.prom\n"
	"    kvmcmod --check             # load, attach, detach, exit 0 if all is well";

static const struct argp_option opts[] = {
	{ "web.listen-address", OPT_LISTEN, "ADDR", 0,
	  "HOST:PORT, [V6]:PORT or :PORT (default 127.0.0.1:10131)", 0 },
	{ "web.config.file", OPT_WEBCFG, "PATH", 0,
	  "TLS and basic auth, as the Prometheus exporter toolkit's file", 0 },
	{ "interval", 'i', "DURATION", 0, "Poll the kernel maps this often (default 1s)", 0 },
	{ "textfile", OPT_TEXTFILE, "PATH", 0,
	  "Also write the page to PATH after each poll (temp file + rename)", 0 },
	{ "vm-grace", OPT_GRACE, "DURATION", 0,
	  "Keep a destroyed VM's series this long (default: two scrape intervals)", 0 },
	{ "max-vms", OPT_MAX_VMS, "N", 0, "Track at most N VMs (default 1024)", 0 },
	{ "regions-top", OPT_REGIONS, "N", 0, "Named regions per VM (default 16)", 0 },
	{ "per-vm-latency", OPT_PER_VM_LAT, NULL, 0,
	  "Latency and gap histograms per VM instead of host-wide", 0 },
	{ "pid", 'p', "PID", 0, "Only VMs of this VMM process", 0 },
	{ "attach", 'a', "MODE", 0, "auto (default), fentry or kprobe", 0 },
	{ "check", OPT_CHECK, NULL, 0, "Load and attach the probes, then exit", 0 },
	{ "keep-caps", OPT_KEEP_CAPS, NULL, 0,
	  "Do not drop every capability after attaching", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's and libmicrohttpd's messages", 0 },
	{},
};

static long parse_int(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	return v;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char host[256];
	unsigned int port;
	long v;

	switch (key) {
	case OPT_LISTEN:
		if (kd_parse_listen(arg, host, sizeof(host), &port)) {
			kvmcmo_usage_err("invalid listen address '%s' (HOST:PORT, [V6]:PORT "
					 "or :PORT)", arg);
			return EINVAL;
		}
		env.listen = arg;
		break;
	case 'i':
		if (kd_parse_duration(arg, &env.o.interval_ns)) {
			kvmcmo_usage_err("invalid interval '%s' (like 1s, 500ms, 2m)", arg);
			return EINVAL;
		}
		break;
	case OPT_GRACE:
		if (kd_parse_duration(arg, &env.o.grace_ns)) {
			kvmcmo_usage_err("invalid grace period '%s' (like 30s, 2m)", arg);
			return EINVAL;
		}
		break;
	case OPT_WEBCFG:
		env.webcfg = arg;
		break;
	case OPT_TEXTFILE:
		if (!*arg) {
			kvmcmo_usage_err("empty textfile path");
			return EINVAL;
		}
		env.textfile = arg;
		break;
	case OPT_MAX_VMS:
		v = parse_int(arg, 1, 1 << 20);
		if (v < 0) {
			kvmcmo_usage_err("invalid --max-vms '%s' (1 or more)", arg);
			return EINVAL;
		}
		env.o.max_vms = (int)v;
		break;
	case OPT_REGIONS:
		v = parse_int(arg, 0, 4096);
		if (v < 0) {
			kvmcmo_usage_err("invalid --regions-top '%s' (0 to 4096)", arg);
			return EINVAL;
		}
		env.o.regions = (int)v;
		break;
	case OPT_PER_VM_LAT:
		env.o.per_vm_latency = true;
		break;
	case 'p':
		v = parse_int(arg, 1, 0x7fffffff);
		if (v < 0) {
			kvmcmo_usage_err("invalid PID '%s'", arg);
			return EINVAL;
		}
		env.pid = (pid_t)v;
		break;
	case 'a':
		if (kvmcmo_mode_parse(arg) < 0) {
			kvmcmo_usage_err("invalid attach mode '%s' (auto, fentry or kprobe)", arg);
			return EINVAL;
		}
		env.mode = kvmcmo_mode_parse(arg);
		break;
	case OPT_CHECK:
		env.check = true;
		break;
	case OPT_KEEP_CAPS:
		env.keep_caps = true;
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
	(void)state;
	return 0;
}

static __u64 mono_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* ---- capabilities ----------------------------------------------------------- */

static int set_caps(__u64 permitted, __u64 effective)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {
		{ .permitted = (__u32)permitted, .effective = (__u32)effective },
		{ .permitted = (__u32)(permitted >> 32), .effective = (__u32)(effective >> 32) },
	};

	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/*
 * Does bpf() refuse this process every command, reading a map through its
 * fd included?  Before 5.19, with kernel.unprivileged_bpf_disabled set
 * (Debian's default), the syscall's entry wants CAP_BPF or CAP_SYS_ADMIN
 * whatever the command (seen on 5.10); 5.19 narrowed that check to map
 * and program creation (6.1 reads maps without).  A command on fd -1
 * tells: EPERM there, EBADF once past it.
 */
static bool bpf_gated(void)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (__u32)-1;
	return syscall(SYS_bpf, BPF_MAP_GET_NEXT_KEY, &attr, sizeof(attr)) < 0 && errno == EPERM;
}

/*
 * Everything, permitted and bounding sets included: the maps and links
 * are open file descriptors, reading them needs no capability, except
 * where bpf() itself is gated (bpf_gated()): there CAP_BPF stays, alone.
 * *kept gets the capability kept, or -1.
 */
static int drop_caps(int *kept)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct cur[2] = {};
	const __u64 bpf_caps = 1ULL << CAP_BPF | 1ULL << CAP_SYS_ADMIN;
	__u64 prm, eff, keep = 0;
	int err;

	*kept = -1;
	if (syscall(SYS_capget, &hdr, cur))
		return -errno;
	prm = cur[0].permitted | (__u64)cur[1].permitted << 32;
	eff = cur[0].effective | (__u64)cur[1].effective << 32;
	/* ask bpf() without the capabilities it looks for (CAP_SETPCAP,
	 * which the bounding set needs below, stays effective) */
	err = set_caps(prm, eff & ~bpf_caps);
	if (err)
		return err;
	if (bpf_gated())
		/* CAP_BPF, or on a kernel without it (before 5.8) CAP_SYS_ADMIN */
		keep = prm & (1ULL << CAP_BPF) ? 1ULL << CAP_BPF : prm & (1ULL << CAP_SYS_ADMIN);
	for (int c = 0; c <= 63; c++)
		if (!(keep & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) &&
		    errno != EINVAL && errno != EPERM)
			return -errno;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	err = set_caps(keep, keep);
	if (err)
		return err;
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (keep)
		*kept = keep == 1ULL << CAP_BPF ? CAP_BPF : CAP_SYS_ADMIN;
	return 0;
}

/* ---- process facts (process_* families) --------------------------------------- */

static void proc_facts(struct kd_model *m, bool start)
{
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	unsigned long long ut = 0, st = 0, starttime = 0, rss = 0, size;
	char buf[1024], *p;
	FILE *f;

	f = fopen("/proc/self/stat", "r");
	if (f) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);

		buf[n] = 0;
		fclose(f);
		/* after the comm, which may hold spaces: field 3 onwards */
		p = strrchr(buf, ')');
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
				"%*d %*d %*d %*d %*d %*d %llu", &ut, &st, &starttime) == 3 && tick > 0)
			m->cpu_s = (double)(ut + st) / (double)tick;
	}
	f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%llu %llu", &size, &rss) == 2)
			m->rss_bytes = rss * (unsigned long long)page;
		fclose(f);
	}
	if (start && tick > 0) {
		unsigned long long btime = 0;

		f = fopen("/proc/stat", "r");
		while (f && fgets(buf, sizeof(buf), f))
			if (sscanf(buf, "btime %llu", &btime) == 1)
				break;
		if (f)
			fclose(f);
		m->start_time_s = (double)btime + (double)starttime / (double)tick;
	}
	f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r");
	m->bpf_stats_enabled = false;
	if (f) {
		int v = 0;

		m->bpf_stats_enabled = fscanf(f, "%d", &v) == 1 && v;
		fclose(f);
	}
}

/* ---- textfile ------------------------------------------------------------------ */

static int write_textfile(struct kd_daemon *d, const char *path)
{
	struct kd_page *p = kd_metrics_page(d, KD_PROM_TEXTFILE);
	char tmp[4096];
	const char *data;
	size_t len;
	int fd, err = 0;

	if (!p)
		return -ENOMEM;
	data = kd_page_data(p, &len);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= sizeof(tmp)) {
		kd_page_put(p);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		kd_page_put(p);
		return -errno;
	}
	while (len && !err) {
		ssize_t w = write(fd, data, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			err = w < 0 ? -errno : -EIO;
		else
			data += w, len -= (size_t)w;
	}
	kd_page_put(p);
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* ---- the loop -------------------------------------------------------------------- */

static int poll_once(struct kd_daemon *d, struct kvmcmo *k, bool rename_vms)
{
	struct kvmcmo_prog_stat ps[KD_MAX_PROGS];
	struct kvmcmo_snapshot cur;
	__u64 t0 = mono_ns(CLOCK_MONOTONIC), c0 = mono_ns(CLOCK_THREAD_CPUTIME_ID);
	int err, nps;

	err = kvmcmo_snapshot_read(k, &cur);
	nps = kvmcmo_prog_stats(k, ps, KD_MAX_PROGS);
	pthread_mutex_lock(&d->lock);
	if (err) {
		d->model.poll_errors++;
		d->model.generation++;
		pthread_mutex_unlock(&d->lock);
		kvmcmo_warn("failed to read the counters: %s", strerror(-err));
		return 0;       /* /healthz goes 503 if it lasts */
	}
	err = kd_model_update(&d->model, &cur);
	kvmcmo_snapshot_free(&cur);
	if (!err && rename_vms) {
		kd_vms_rename(&d->model, &d->model.prev);
		d->model.generation++;
	}
	memcpy(d->model.progs, ps, sizeof(ps[0]) * (size_t)(nps > 0 ? nps : 0));
	d->model.nprogs = nps > 0 ? nps : 0;
	proc_facts(&d->model, false);
	d->model.poll_cpu_s += (double)(mono_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / 1e9;
	kd_fhist_observe(&d->model.poll_dur, kd_dur_bounds, KD_DUR_BUCKETS,
			 (double)(mono_ns(CLOCK_MONOTONIC) - t0) / 1e9);
	pthread_mutex_unlock(&d->lock);
	if (err) {
		kvmcmo_err("cannot update the model: %s", strerror(-err));
		return KVMCMO_EXIT_FAIL;
	}
	/* expired VMs leave the kernel maps too (only this thread writes the
	 * forget list): churn never fills them */
	for (size_t i = 0; i < d->model.nforget; i++) {
		int e = kvmcmo_forget_vm(k, d->model.forget[i]);

		if (e)
			kvmcmo_warn("cannot drop the rows of destroyed VM %llu: %s",
				    (unsigned long long)d->model.forget[i], strerror(-e));
	}
	if (env.textfile) {
		static int last_err;

		err = write_textfile(d, env.textfile);
		if (err && err != last_err)
			kvmcmo_warn("cannot write %s: %s", env.textfile, strerror(-err));
		last_err = err;
	}
	return 0;
}

static void fill_static(struct kd_model *m, const struct kvmcmo *k)
{
	const struct kvmcmo_plan *plan = kvmcmo_get_plan(k);
	struct utsname u;

	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%s", u.release);
	for (int i = 0; plan && i < plan->nrows && i < KVMCMO_MAX_PLAN; i++) {
		m->probes[m->nprobes].function = plan->rows[i].function;
		m->probes[m->nprobes].mode = plan->rows[i].mode == KVMCMO_MODE_UNUSED ?
					     "unused" : kvmcmo_mode_name(plan->rows[i].mode);
		m->nprobes++;
	}
	proc_facts(m, true);
}

int main(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, NULL, doc, NULL, NULL, NULL };
	struct kd_daemon d = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct kd_webcfg web = {};
	struct kvmcmo_opts ko = {};
	struct kvmcmo *k = NULL;
	char host[256], errbuf[256];
	unsigned int port;
	sigset_t set;
	__u64 next;
	int err;

	kvmcmo_log_init("kvmcmod");
	err = kvmcmo_argp_parse(&argp, argc, argv, NULL);
	if (err)
		return err == KVMCMO_ARGP_HELP ? 0 : err;
	kd_parse_listen(env.listen, host, sizeof(host), &port);
	/* a bad config file is bad usage, found before anything is loaded */
	if (env.webcfg && kd_webcfg_load(env.webcfg, &web, errbuf, sizeof(errbuf))) {
		kvmcmo_usage_err("%s: %s", env.webcfg, errbuf);
		return KVMCMO_EXIT_USAGE;
	}
	d.web = env.webcfg ? &web : NULL;

	/* signals are taken synchronously, by this thread only: block them
	 * before libmicrohttpd starts its thread */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	ko.pid = env.pid;
	ko.mode = env.mode;
	err = kvmcmo_open(&k, &ko);
	if (err)
		return err;
	if (env.check) {
		kvmcmo_close(k);
		printf("kvmcmod: probes load and attach on this kernel\n");
		return 0;
	}

	kd_model_init(&d.model, &env.o);
	fill_static(&d.model, k);
	/* a stalled poller shows within seconds; a busy host is not one */
	d.healthy_within_ns = 3 * env.o.interval_ns + 10000000000ULL;
	err = poll_once(&d, k, false);
	if (err)
		goto cleanup;
	if (kd_http_start(&d, host, port, errbuf, sizeof(errbuf))) {
		kvmcmo_err("%s", errbuf);
		err = KVMCMO_EXIT_FAIL;
		goto cleanup;
	}
	if (!env.keep_caps) {
		int kept;

		err = drop_caps(&kept);
		if (err) {
			kvmcmo_err("cannot drop capabilities: %s", strerror(-err));
			err = KVMCMO_EXIT_FAIL;
			goto cleanup;
		}
		if (kept >= 0)
			fprintf(stderr, "kvmcmod: this kernel's bpf() wants %s for reading maps "
				"too (kernel.unprivileged_bpf_disabled): keeping it, dropping "
				"the rest\n", kept == CAP_BPF ? "CAP_BPF" : "CAP_SYS_ADMIN");
	}
	fprintf(stderr, "kvmcmod: listening on %s (%s://%s/metrics%s), polling every %.3g s\n",
		env.listen, web.cert_pem ? "https" : "http", env.listen,
		web.nusers ? ", basic auth" : "", (double)env.o.interval_ns / 1e9);

	next = mono_ns(CLOCK_MONOTONIC) + env.o.interval_ns;
	for (;;) {
		__u64 now = mono_ns(CLOCK_MONOTONIC);
		struct timespec ts = { 0, 0 };
		int sig;

		if (next > now) {
			ts.tv_sec = (time_t)((next - now) / 1000000000ULL);
			ts.tv_nsec = (long)((next - now) % 1000000000ULL);
		}
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (sig == SIGHUP) {
			kvmcmo_info("SIGHUP: re-resolving VM names, rewriting the textfile");
			err = poll_once(&d, k, true);
		} else if (sig < 0 && errno == EINTR) {
			continue;
		} else {
			err = poll_once(&d, k, false);
			next += env.o.interval_ns;
			/* a stall (suspend, stopped process) does not make a burst */
			if (next < mono_ns(CLOCK_MONOTONIC))
				next = mono_ns(CLOCK_MONOTONIC) + env.o.interval_ns;
		}
		if (err)
			break;
	}
cleanup:
	kd_http_stop(&d);
	kvmcmo_close(k);
	pthread_mutex_lock(&d.lock);
	kd_pages_invalidate(&d);
	kd_model_free(&d.model);
	pthread_mutex_unlock(&d.lock);
	kd_webcfg_free(&web);
	return err;
}
