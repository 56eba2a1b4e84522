/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kvmcmod.h - what the daemon's parts share.
 *
 *   poll.c    turns cumulative kernel snapshots into the monotonic model
 *   vms.c     which VMs the model tracks: labels, grace period, --max-vms
 *   prom.c    the model as a Prometheus text page (a pure function)
 *   api.c     the model as the /api/v1/snapshot JSON document
 *   http.c    libmicrohttpd glue: routes, caching, basic auth, TLS
 *   config.c  option values (durations, listen addresses)
 *   webcfg.c  the --web.config.file: TLS and basic auth
 *   main.c    options, attach, the poll loop, signals, textfile
 *
 * The model is only ever touched with kd_daemon.lock held (http.c and the
 * poll loop share it); prom.c and api.c only read it.
 */
#ifndef __KVMCMOD_H
#define __KVMCMOD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "libkvmcmo.h"

/* 10131: the 9100-9999 exporter range of Prometheus's default port
 * allocations list is full; see man/kvmcmod.8 */
#define KD_DEFAULT_PORT 10131
#define KD_DEFAULT_LISTEN "127.0.0.1:10131"
#define KD_NAME_LEN 128
#define KD_LABEL_LEN 160
#define KD_REGION_LABEL_LEN 24
#define KD_DEFAULT_REGIONS 16
#define KD_MAX_PROGS 32
#define KD_NO_SCRAPE_GRACE_NS (120ULL * 1000000000ULL) /* 2 x Prometheus's 1m default */

/* per-interval CMO abort rate buckets, aborts per second (le), then +Inf */
#define KD_RATE_BUCKETS 8
extern const double kd_rate_bounds[KD_RATE_BUCKETS];
/* the daemon's own durations (poll, render), seconds (le), then +Inf */
#define KD_DUR_BUCKETS 13
extern const double kd_dur_bounds[KD_DUR_BUCKETS];

struct kd_fhist {               /* a Prometheus histogram with fixed bounds */
	__u64 buckets[KD_DUR_BUCKETS + 1];      /* not cumulative; last: +Inf */
	double sum;
	__u64 count;
};

/* one VM the model tracks (alive, or destroyed and within its grace) */
struct kd_vm {
	__u64 id;                       /* the kernel-side VM id */
	__u32 pid;
	int fd;
	bool alive;
	__u64 first_ns;
	__u64 destroyed_ns;             /* CLOCK_MONOTONIC; 0 while alive */
	char name[KD_NAME_LEN];         /* valid UTF-8 */
	char label[KD_LABEL_LEN];       /* the `vm` label: unique per pid */
	struct kd_fhist rate;           /* CMO aborts/s per poll interval */
	char (*regions)[KD_REGION_LABEL_LEN]; /* named regions, sticky */
	int nregions;
	/* scratch of one kd_model_update() */
	bool fresh;                     /* first tracked in this update */
	__u64 cmo_inc;                  /* CMO aborts since the last update */
};

/* a VM seen but not tracked (--max-vms full when it came) */
struct kd_untracked {
	__u64 id;
	bool alive;
	__u64 destroyed_ns;             /* CLOCK_MONOTONIC; 0 while alive */
};

struct kd_opts {
	__u64 interval_ns;              /* --interval */
	__u64 grace_ns;                 /* --vm-grace; 0: two scrape intervals */
	int max_vms;                    /* --max-vms */
	int regions;                    /* --regions-top: named regions per VM */
	bool per_vm_latency;            /* --per-vm-latency */
};

struct kd_model {
	struct kd_opts opts;
	/* tracked VMs, sorted by id */
	struct kd_vm *vms;
	size_t nvms;
	/* monotonic rows of tracked VMs (the library's row types, sorted by
	 * key as in a snapshot) */
	struct kvmcmo_snapshot acc;
	/* host-wide histograms: every VM, never dropped */
	struct kvmcmo_hist host_lat[KVMCMO_OUTCOME__COUNT];
	struct kvmcmo_hist host_gap[KVMCMO_KIND__COUNT][KVMCMO_MEMSLOT__COUNT];
	__u64 stats[KVMCMO_STAT__COUNT];        /* the kernel side's counters */
	/* VMs not tracked, sorted by id: counted once in vms_dropped, never
	 * tracked later; their kernel rows go when their grace ends too */
	struct kd_untracked *untracked;
	size_t nuntracked;
	__u64 vms_dropped;              /* VMs not tracked: --max-vms */
	__u64 vms_expired;              /* VMs whose grace ended */
	/* ids (tracked or not) expired by the last update: the poll loop
	 * then drops their rows from the kernel maps (kvmcmo_forget_vm) */
	__u64 *forget;
	size_t nforget;
	/* rows per kernel map at the last poll (kd_kmap_names order) */
	size_t kernel_rows[5];
	/* the previous raw snapshot, for deltas */
	struct kvmcmo_snapshot prev;
	bool have_prev;
	__u64 polls, poll_errors, generation;
	__u64 last_poll_ns;             /* taken_ns of the last good poll */
	struct kd_fhist poll_dur, render_dur;
	double poll_cpu_s;              /* CPU time of the poll thread */
	/* scrapes of /metrics, for the default grace period */
	__u64 scrape_ns[8];
	unsigned int nscrapes;
	/* what prom.c shows beside the counters */
	struct kvmcmo_prog_stat progs[KD_MAX_PROGS];
	int nprogs;
	bool bpf_stats_enabled;
	struct { const char *function, *mode; } probes[KVMCMO_MAX_PLAN];
	int nprobes;
	char kernel[65];
	double start_time_s;            /* process_start_time_seconds */
	double cpu_s;                   /* process_cpu_seconds_total */
	__u64 rss_bytes;                /* process_resident_memory_bytes */
};

/* ---- vms.c --------------------------------------------------------------- */

struct kd_vm *kd_vm_find(const struct kd_model *m, __u64 id);
/* the grace period in force: --vm-grace, else two scrape intervals */
__u64 kd_grace_ns(const struct kd_model *m);
void kd_note_scrape(struct kd_model *m, __u64 now_ns);
/* track the new VMs of snapshot s, refresh the known ones, expire the
 * destroyed ones past their grace; returns how many VMs were dropped */
int kd_vms_update(struct kd_model *m, const struct kvmcmo_snapshot *s);
/* SIGHUP: take names (and so labels) afresh from snapshot s */
void kd_vms_rename(struct kd_model *m, const struct kvmcmo_snapshot *s);
void kd_vm_free(struct kd_vm *vm);

/* ---- poll.c ------------------------------------------------------------- */

void kd_model_init(struct kd_model *m, const struct kd_opts *o);
void kd_model_free(struct kd_model *m);
/* fold a new cumulative snapshot (owned by the model from then on) into
 * the model; 0 or -errno (the model is unchanged then) */
int kd_model_update(struct kd_model *m, struct kvmcmo_snapshot *cur);
void kd_fhist_observe(struct kd_fhist *h, const double *bounds, int nb, double v);

/* ---- prom.c -------------------------------------------------------------- */

struct kd_buf {
	char *data;
	size_t len, cap;
	bool oom;
};

void kd_buf_free(struct kd_buf *b);
void kd_buf_printf(struct kd_buf *b, const char *fmt, ...) __printf(2, 3);
void kd_buf_put(struct kd_buf *b, const char *s, size_t n);
/* a label value escaped for the text format: \ " and newline */
void kd_prom_escape(struct kd_buf *b, const char *s);

#define KD_PROM_TEXTFILE (1U << 0)      /* no process_* (node_exporter has its own) */
/* the whole page; 0 or -ENOMEM */
int kd_prom_render(const struct kd_model *m, unsigned int flags, struct kd_buf *out);

/* ---- api.c --------------------------------------------------------------- */

/* the /api/v1/snapshot document (compact JSON, NUL-terminated, malloc'ed) */
char *kd_api_snapshot(const struct kd_model *m);

/* ---- config.c ------------------------------------------------------------ */

/* "1", "1.5", "250ms", "2s", "1m", "1h" -> ns; -EINVAL if bad or 0 */
int kd_parse_duration(const char *s, __u64 *ns);
/* "HOST:PORT", "[V6]:PORT", ":PORT" -> host (possibly "") and port */
int kd_parse_listen(const char *s, char *host, size_t hostlen, unsigned int *port);

#define KD_MAX_USERS 16
struct kd_webcfg {
	char *cert_pem, *key_pem;       /* TLS when both are set */
	int nusers;
	struct { char *user, *hash; } users[KD_MAX_USERS]; /* crypt(3) hashes */
};
/* webcfg.c: parse a --web.config.file; 0, or -errno with one line in err */
int kd_webcfg_load(const char *path, struct kd_webcfg *c, char *err, size_t errlen);
int kd_webcfg_parse(const char *text, const char *dir, struct kd_webcfg *c,
		    char *err, size_t errlen);
void kd_webcfg_free(struct kd_webcfg *c);
/* 1 if user:password matches an entry */
int kd_webcfg_auth(const struct kd_webcfg *c, const char *user, const char *pass);

/* ---- http.c -------------------------------------------------------------- */

struct kd_daemon {
	pthread_mutex_t lock;
	struct kd_model model;
	/* pages cached per model generation */
	struct kd_page *metrics, *api;
	const struct kd_webcfg *web;    /* NULL: plain HTTP, no auth */
	struct MHD_Daemon *mhd;
	__u64 healthy_within_ns;        /* /healthz: a good poll this recent */
};

int kd_http_start(struct kd_daemon *d, const char *host, unsigned int port,
		  char *err, size_t errlen);
void kd_http_stop(struct kd_daemon *d);
/* render (or reuse) the /metrics page; the caller must kd_page_put() it */
struct kd_page *kd_metrics_page(struct kd_daemon *d, unsigned int flags);
const char *kd_page_data(const struct kd_page *p, size_t *len);
void kd_page_put(struct kd_page *p);
/* drop the cached pages (the model changed) */
void kd_pages_invalidate(struct kd_daemon *d);

#endif /* __KVMCMOD_H */
