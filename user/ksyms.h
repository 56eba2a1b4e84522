/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* ksyms.h - which kernel functions exist (/proc/kallsyms) */
#ifndef __KVMCMO_KSYMS_H
#define __KVMCMO_KSYMS_H

#include <stdbool.h>

/* true if a text symbol with exactly this name is in /proc/kallsyms */
bool kvmcmo_ksym_exists(const char *name);

#endif
