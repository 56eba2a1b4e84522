/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * recfile.h - kvmcmo recordings: the versioned JSON document `kvmcmo
 * record` writes and `kvmcmo diff` reads (docs/record-schema.md).
 *
 * Writing reuses the library's snapshot JSON (the `stat --json` shape) for
 * each VM of a sample and adds a matching key and a per-interval rate.
 * Reading checks every field it uses and fails with one message naming
 * the file and the place: "line L, column C" for JSON syntax (jansson's
 * json_error_t), the JSON path ("samples[2].vms[0].aborts[1].kind") for
 * content.
 */
#ifndef __KVMCMO_RECFILE_H
#define __KVMCMO_RECFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "libkvmcmo.h"

#define REC_FORMAT "kvmcmo-record"
#define REC_SCHEMA 1            /* the version this kvmcmo writes */
#define REC_SCHEMA_MIN 1        /* the oldest version it reads */

/* an abort class (kind, fault, memslot, outcome) as one number */
#define REC_NCLASS (KVMCMO_KIND__COUNT * KVMCMO_FAULT__COUNT * \
		    KVMCMO_MEMSLOT__COUNT * KVMCMO_OUTCOME__COUNT)

static inline int rec_class(int kind, int fault, int memslot, int outcome)
{
	return ((kind * KVMCMO_FAULT__COUNT + fault) * KVMCMO_MEMSLOT__COUNT + memslot) *
	       KVMCMO_OUTCOME__COUNT + outcome;
}

static inline void rec_class_split(int cls, int *kind, int *fault, int *memslot, int *outcome)
{
	*outcome = cls % KVMCMO_OUTCOME__COUNT;
	cls /= KVMCMO_OUTCOME__COUNT;
	*memslot = cls % KVMCMO_MEMSLOT__COUNT;
	cls /= KVMCMO_MEMSLOT__COUNT;
	*fault = cls % KVMCMO_FAULT__COUNT;
	*kind = cls / KVMCMO_FAULT__COUNT;
}

/* ---- what diff reads ------------------------------------------------------- */

struct rec_count {
	int cls;                        /* rec_class() */
	__u64 count;
};

struct rec_hist {
	int a, b;                       /* latency: outcome; gaps: kind, memslot */
	__u64 count;                    /* the "count" field */
	struct kvmcmo_hist h;           /* slots from "buckets", count = their sum */
};

struct rec_vm {
	const char *key;                /* matching key (unique in its sample) */
	const char *name;
	long long pid, fd;
	struct rec_count *aborts;       /* sorted by class, no duplicates */
	size_t naborts;
	__u64 dabt[KVMCMO_DABT__COUNT];
	struct rec_hist *lat;           /* one per outcome present */
	size_t nlat;
	struct rec_hist *gaps;          /* double faults: one per (kind, memslot) */
	size_t ngaps;
	double peak_per_s;              /* highest per-interval abort rate, 0 if none */
};

struct rec_sample {
	__u64 duration_ns;              /* > 0 */
	long long exit_status;          /* -1: no command (a duration window) */
	const char *start;
	struct rec_vm *vms;             /* sorted by key */
	size_t nvms;
	__u64 stats[KVMCMO_STAT__COUNT];
};

struct rec_file {
	json_t *root;                   /* owns every string above */
	char *path;
	long long schema;
	const char *tool_version, *kernel_release, *hostname, *mode, *start;
	char attach[64];                /* "fentry", "kprobe", "fentry+kprobe" */
	struct rec_sample *samples;
	size_t nsamples;
};

/*
 * Parse a recording held in buf (need not be NUL-terminated).  `name` is
 * the file name used in messages.  0, or -EINVAL with one line in err:
 * "NAME: WHERE: WHAT".  On failure f is left empty (rec_free is safe).
 */
int rec_parse(const char *buf, size_t len, const char *name, struct rec_file *f,
	      char *err, size_t errlen);
/* the same from a file ("-" is not special); -errno / -EINVAL with err */
int rec_load(const char *path, struct rec_file *f, char *err, size_t errlen);
void rec_free(struct rec_file *f);

const struct rec_vm *rec_sample_vm(const struct rec_sample *s, const char *key);

/* ---- what record writes ----------------------------------------------------- */

/*
 * Keys for the VMs of one sample (VMs in different samples are matched by
 * key, since pids and fds change from run to run): the VM's name; when
 * several VMs of the sample share a name, "NAME#1", "NAME#2", ... in order
 * of (fd, first_ns, pid) (the workload's `multi` case: three VMs, one
 * process, one name: their fds give their creation order); "(unnamed)"
 * for an empty name.  names[i] is vms[i]'s name as valid UTF-8 (what the
 * JSON holds); keys[i] belongs to vms[i]; free with rec_keys_free().
 */
int rec_vm_keys(const struct kvmcmo_vm *vms, const char *const *names, size_t n,
		char ***keys);
void rec_keys_free(char **keys, size_t n);

struct rec_sample_info {
	__u64 start_unix_ns;
	__u64 duration_ns;
	long long exit_status;          /* -1 for none */
	bool interrupted;
	__u64 interval_ns;              /* of rate[] below */
};

/* per VM: aborts in each interval of the sample (the last may be shorter) */
struct rec_rate {
	__u64 *per_interval;
	size_t n;
};

/*
 * One sample: s holds only the sample's VMs (and their delta rows); rates
 * (may be NULL) are indexed like s->vms.  Each VM gets its "key".
 */
json_t *rec_sample_json(const struct kvmcmo_snapshot *s, const struct rec_rate *rates,
			const struct rec_sample_info *info);

/* ISO 8601 UTC with milliseconds, "2025-01-31T12:00:00.123Z" */
void rec_iso_time(__u64 unix_ns, char *buf, size_t len);

#endif
