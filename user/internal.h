/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* internal.h - what the library's own files share, not front ends */
#ifndef __KVMCMO_INTERNAL_H
#define __KVMCMO_INTERNAL_H

#include "libkvmcmo.h"

struct kvmcmo_bpf;
struct kvmcmo_bpf *kvmcmo_skel(struct kvmcmo *k);
/* true when any probe is a kprobe: see read_map() in snapshot.c */
bool kvmcmo_uses_kprobes(const struct kvmcmo *k);

#endif
