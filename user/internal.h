/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* internal.h - what the library's own files share, not front ends */
#ifndef __KVMCMO_INTERNAL_H
#define __KVMCMO_INTERNAL_H

#include "libkvmcmo.h"

struct kvmcmo_bpf;
struct kvmcmo_bpf *kvmcmo_skel(struct kvmcmo *k);

#endif
