/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * vmm.h - a minimal arm64 KVM VMM: one VM, a few memslots, one vCPU that
 * runs a bare-metal guest at EL1 with the MMU off, and a run loop that
 * counts every exit it sees.
 *
 * Every function returns 0 or -errno and prints what failed on stderr
 * ("kvmcmo: vmm: ..."); nothing here exits the process.  Built on a
 * non-arm64 host, the functions that need KVM return -EOPNOTSUPP.
 */
#ifndef KVMCMO_VMM_H
#define KVMCMO_VMM_H

#include <stddef.h>
#include <stdint.h>

#define VMM_PAGE_SIZE 4096UL
#define VMM_MAX_SLOTS 8

/* kvm_userspace_memory_region.flags */
#define VMM_SLOT_LOG_DIRTY (1U << 0)    /* KVM_MEM_LOG_DIRTY_PAGES */
#define VMM_SLOT_READONLY (1U << 1)     /* KVM_MEM_READONLY */

struct vmm_slot {
	uint32_t id;
	uint32_t flags;
	uint64_t ipa;
	uint64_t size;
	void *mem;
};

/* what the run loop saw */
struct vmm_stats {
	uint64_t runs;          /* KVM_RUN calls */
	uint64_t mmio_exits;    /* KVM_EXIT_MMIO */
	uint64_t mmio_reads;
	uint64_t mmio_writes;
	uint64_t nisv_exits;    /* KVM_EXIT_ARM_NISV */
	uint64_t enosys;        /* KVM_RUN failed with ENOSYS */
	uint64_t eintr;         /* KVM_RUN interrupted, retried */
	uint64_t system_events; /* KVM_EXIT_SYSTEM_EVENT */
	uint64_t other_exits;
	uint64_t ns;            /* CLOCK_MONOTONIC around the run loop */
	uint32_t system_event_type;
	uint64_t last_mmio_addr, last_nisv_ipa, last_nisv_esr_iss;
};

struct vmm_vm {
	int kvm_fd;             /* borrowed: /dev/kvm from vmm_open() */
	int vm_fd;
	int vcpu_fd;
	int gic_fd;             /* in-kernel vGIC device, -1 without */
	void *run;              /* struct kvm_run, mmap'ed */
	size_t run_size;
	struct vmm_slot slots[VMM_MAX_SLOTS];
	int nslots;
	int verbose;
	uint64_t max_runs;      /* run loop gives up past this many KVM_RUNs */
	struct vmm_stats st;
};

/* open /dev/kvm (O_CLOEXEC); returns the fd or -errno */
int vmm_open(void);

/* KVM_CHECK_EXTENSION on /dev/kvm or a VM fd: >= 0 value, or -errno */
int vmm_check_cap(int fd, unsigned int cap);

/*
 * Anonymous memory for a slot: mmap, MADV_NOHUGEPAGE, every page written
 * (so the host page tables are populated and writable before the guest
 * runs, and stage-2 fault counts are exact).  size: multiple of 4 KiB.
 */
int vmm_mem_alloc(size_t size, void **mem);
void vmm_mem_free(void *mem, size_t size);

/* KVM_CREATE_VM (default IPA size); vm->vm_fd is the VM's fd number */
int vmm_vm_create(struct vmm_vm *vm, int kvm_fd);
/* KVM_ENABLE_CAP(KVM_CAP_ARM_NISV_TO_USER) on the VM */
int vmm_enable_nisv(struct vmm_vm *vm);
/* KVM_SET_USER_MEMORY_REGION; `mem` stays owned by the VM from then on */
int vmm_add_slot(struct vmm_vm *vm, uint64_t ipa, uint64_t size,
		 uint32_t flags, void *mem);
/* pages with their dirty bit set in KVM_GET_DIRTY_LOG for a slot */
int vmm_dirty_pages(struct vmm_vm *vm, int slot_index, uint64_t *count);
/* KVM_CREATE_VCPU 0 + KVM_ARM_PREFERRED_TARGET + KVM_ARM_VCPU_INIT(PSCI 0.2) */
int vmm_vcpu_create(struct vmm_vm *vm);

/* registers of the vCPU (KVM_SET_ONE_REG / KVM_GET_ONE_REG) */
int vmm_set_pc(struct vmm_vm *vm, uint64_t pc);
int vmm_get_pc(struct vmm_vm *vm, uint64_t *pc);
int vmm_set_xreg(struct vmm_vm *vm, unsigned int n, uint64_t v);
int vmm_get_xreg(struct vmm_vm *vm, unsigned int n, uint64_t *v);
int vmm_set_vbar(struct vmm_vm *vm, uint64_t vbar);
/* any 64-bit system register of the vCPU; `sysreg` is op0..op2 packed as
 * guest.h's A64_SYSREG() (the low 16 bits of the uapi ARM64_SYS_REG()) */
int vmm_set_sysreg(struct vmm_vm *vm, uint32_t sysreg, uint64_t v);
int vmm_get_sysreg(struct vmm_vm *vm, uint32_t sysreg, uint64_t *v);

/*
 * An in-kernel GICv3 (KVM_CREATE_DEVICE KVM_DEV_TYPE_ARM_VGIC_V3) with its
 * distributor (64 KiB) and redistributor (128 KiB per vCPU) at these IPAs,
 * which no memslot may cover.  Call before vmm_vcpu_create(); then
 * vmm_vgic_init() (KVM_DEV_ARM_VGIC_CTRL_INIT) once the vCPU exists.
 */
int vmm_vgic_v3_create(struct vmm_vm *vm, uint64_t dist, uint64_t redist);
int vmm_vgic_init(struct vmm_vm *vm);

/* KVM_SET_VCPU_EVENTS with ext_dabt_pending = 1 (needs
 * KVM_CAP_ARM_INJECT_EXT_DABT) */
int vmm_inject_ext_dabt(struct vmm_vm *vm);

/*
 * Run until the guest powers off (PSCI SYSTEM_OFF -> KVM_EXIT_SYSTEM_EVENT).
 * MMIO reads return 0, writes are dropped; a NISV exit or a KVM_RUN that
 * fails with ENOSYS is counted and the guest PC stepped over the access.
 * Anything else ends the loop with an error.  Fills vm->st.
 */
int vmm_run(struct vmm_vm *vm);

/* close the vCPU and VM, unmap slot memory; safe on a partly made VM */
void vmm_vm_destroy(struct vmm_vm *vm);

#endif /* KVMCMO_VMM_H */
