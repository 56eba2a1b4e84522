// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * vmm.c - the minimal arm64 KVM VMM behind kvmcmo's workloads (vmm.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

__attribute__((format(printf, 2, 3)))
static int vmm_err(int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kvmcmo: vmm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fprintf(stderr, "\n");
	return err ? -err : -EINVAL;
}

int vmm_mem_alloc(size_t size, void **mem)
{
	void *p;

	if (!size || size % VMM_PAGE_SIZE)
		return vmm_err(EINVAL, "slot size %zu is not a multiple of 4 KiB",
			       size);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return vmm_err(errno, "mmap %zu bytes of guest memory", size);
	/* 4 KiB host pages only: a THP would let one fault map 2 MiB */
	if (madvise(p, size, MADV_NOHUGEPAGE))
		fprintf(stderr, "kvmcmo: vmm: madvise(MADV_NOHUGEPAGE): %s "
			"(fault counts may be lower than expected)\n",
			strerror(errno));
	/* write every page so it is present and writable in the host */
	for (size_t off = 0; off < size; off += VMM_PAGE_SIZE)
		*(volatile uint64_t *)((char *)p + off) = 0;
	*mem = p;
	return 0;
}

void vmm_mem_free(void *mem, size_t size)
{
	if (mem && mem != MAP_FAILED)
		munmap(mem, size);
}

#if defined(__aarch64__)

#include <linux/kvm.h>

#define CORE_REG(field) \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
	 (offsetof(struct kvm_regs, field) / sizeof(__u32)))
#define VBAR_EL1_REG ARM64_SYS_REG(3, 0, 12, 0, 0)

/* a KVM_RUN that never returns to us this many times is a runaway guest */
#define VMM_DEFAULT_MAX_RUNS 1000000

int vmm_open(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int ver;

	if (fd < 0)
		return vmm_err(errno, "open /dev/kvm (is this an arm64 host "
			       "with KVM, and are you root?)");
	ver = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		close(fd);
		return vmm_err(EINVAL, "KVM API version %d, want %d", ver,
			       KVM_API_VERSION);
	}
	return fd;
}

int vmm_check_cap(int fd, unsigned int cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? -errno : r;
}

int vmm_vm_create(struct vmm_vm *vm, int kvm_fd)
{
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = kvm_fd;
	vm->vm_fd = -1;
	vm->vcpu_fd = -1;
	vm->gic_fd = -1;
	vm->max_runs = VMM_DEFAULT_MAX_RUNS;
	do {
		r = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return vmm_err(errno, "KVM_CREATE_VM");
	vm->vm_fd = r;
	return 0;
}

int vmm_enable_nisv(struct vmm_vm *vm)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_NISV_TO_USER };

	if (vmm_check_cap(vm->vm_fd, KVM_CAP_ARM_NISV_TO_USER) <= 0)
		return vmm_err(EOPNOTSUPP, "KVM_CAP_ARM_NISV_TO_USER");
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap))
		return vmm_err(errno, "KVM_ENABLE_CAP(KVM_CAP_ARM_NISV_TO_USER)");
	return 0;
}

int vmm_add_slot(struct vmm_vm *vm, uint64_t ipa, uint64_t size,
		 uint32_t flags, void *mem)
{
	struct kvm_userspace_memory_region r;
	struct vmm_slot *s;

	if (vm->nslots >= VMM_MAX_SLOTS)
		return vmm_err(ENOSPC, "more than %d memslots", VMM_MAX_SLOTS);
	s = &vm->slots[vm->nslots];
	r = (struct kvm_userspace_memory_region){
		.slot = (__u32)vm->nslots,
		.flags = (flags & VMM_SLOT_LOG_DIRTY ? KVM_MEM_LOG_DIRTY_PAGES : 0) |
			 (flags & VMM_SLOT_READONLY ? KVM_MEM_READONLY : 0),
		.guest_phys_addr = ipa,
		.memory_size = size,
		.userspace_addr = (__u64)(uintptr_t)mem,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		return vmm_err(errno, "KVM_SET_USER_MEMORY_REGION slot %u at "
			       "%#llx size %#llx flags %#x", r.slot,
			       (unsigned long long)ipa,
			       (unsigned long long)size, r.flags);
	*s = (struct vmm_slot){ .id = r.slot, .flags = flags, .ipa = ipa,
				.size = size, .mem = mem };
	vm->nslots++;
	return 0;
}

int vmm_dirty_pages(struct vmm_vm *vm, int slot_index, uint64_t *count)
{
	struct vmm_slot *s = &vm->slots[slot_index];
	size_t npages = s->size / VMM_PAGE_SIZE;
	size_t words = (npages + 63) / 64;
	uint64_t *bm = calloc(words ? words : 1, sizeof(*bm));
	struct kvm_dirty_log log = { .slot = s->id };
	uint64_t n = 0;

	if (!bm)
		return vmm_err(ENOMEM, "dirty bitmap");
	log.dirty_bitmap = bm;
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log)) {
		int e = errno;

		free(bm);
		return vmm_err(e, "KVM_GET_DIRTY_LOG slot %u", s->id);
	}
	for (size_t i = 0; i < words; i++)
		n += (uint64_t)__builtin_popcountll(bm[i]);
	free(bm);
	*count = n;
	return 0;
}

int vmm_vcpu_create(struct vmm_vm *vm)
{
	struct kvm_vcpu_init init;
	int r;

	r = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r <= 0)
		return vmm_err(r < 0 ? errno : EINVAL, "KVM_GET_VCPU_MMAP_SIZE");
	vm->run_size = (size_t)r;
	r = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (r < 0)
		return vmm_err(errno, "KVM_CREATE_VCPU");
	vm->vcpu_fd = r;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED) {
		vm->run = NULL;
		return vmm_err(errno, "mmap kvm_run");
	}
	memset(&init, 0, sizeof(init));
	if (ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &init))
		return vmm_err(errno, "KVM_ARM_PREFERRED_TARGET");
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (ioctl(vm->vcpu_fd, KVM_ARM_VCPU_INIT, &init))
		return vmm_err(errno, "KVM_ARM_VCPU_INIT (target %u, PSCI 0.2)",
			       init.target);
	return 0;
}

static int set_reg(struct vmm_vm *vm, uint64_t id, uint64_t v, const char *what)
{
	struct kvm_one_reg reg = { .id = id, .addr = (__u64)(uintptr_t)&v };

	if (ioctl(vm->vcpu_fd, KVM_SET_ONE_REG, &reg))
		return vmm_err(errno, "KVM_SET_ONE_REG %s", what);
	return 0;
}

static int get_reg(struct vmm_vm *vm, uint64_t id, uint64_t *v, const char *what)
{
	struct kvm_one_reg reg = { .id = id, .addr = (__u64)(uintptr_t)v };

	if (ioctl(vm->vcpu_fd, KVM_GET_ONE_REG, &reg))
		return vmm_err(errno, "KVM_GET_ONE_REG %s", what);
	return 0;
}

int vmm_set_pc(struct vmm_vm *vm, uint64_t pc)
{
	return set_reg(vm, CORE_REG(regs.pc), pc, "pc");
}

int vmm_get_pc(struct vmm_vm *vm, uint64_t *pc)
{
	return get_reg(vm, CORE_REG(regs.pc), pc, "pc");
}

int vmm_set_xreg(struct vmm_vm *vm, unsigned int n, uint64_t v)
{
	if (n > 30)
		return vmm_err(EINVAL, "no register x%u", n);
	return set_reg(vm, CORE_REG(regs.regs[0]) + n * 2, v, "xN");
}

int vmm_get_xreg(struct vmm_vm *vm, unsigned int n, uint64_t *v)
{
	if (n > 30)
		return vmm_err(EINVAL, "no register x%u", n);
	return get_reg(vm, CORE_REG(regs.regs[0]) + n * 2, v, "xN");
}

int vmm_set_vbar(struct vmm_vm *vm, uint64_t vbar)
{
	return set_reg(vm, VBAR_EL1_REG, vbar, "VBAR_EL1");
}

int vmm_set_sysreg(struct vmm_vm *vm, uint32_t sysreg, uint64_t v)
{
	return set_reg(vm, KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM64_SYSREG |
		       (sysreg & 0xffff), v, "system register");
}

int vmm_get_sysreg(struct vmm_vm *vm, uint32_t sysreg, uint64_t *v)
{
	return get_reg(vm, KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM64_SYSREG |
		       (sysreg & 0xffff), v, "system register");
}

static int vgic_attr(struct vmm_vm *vm, uint32_t group, uint64_t attr,
		     uint64_t *val, const char *what)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (__u64)(uintptr_t)val,
	};

	if (ioctl(vm->gic_fd, KVM_SET_DEVICE_ATTR, &a))
		return vmm_err(errno, "vGICv3 %s", what);
	return 0;
}

int vmm_vgic_v3_create(struct vmm_vm *vm, uint64_t dist, uint64_t redist)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	int r;

	if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd))
		return vmm_err(errno, "KVM_CREATE_DEVICE(KVM_DEV_TYPE_ARM_VGIC_V3) "
			       "(does the host have a GICv3 with a virtual CPU "
			       "interface?)");
	vm->gic_fd = (int)cd.fd;
	r = vgic_attr(vm, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST,
		      &dist, "distributor address");
	if (!r)
		r = vgic_attr(vm, KVM_DEV_ARM_VGIC_GRP_ADDR,
			      KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist,
			      "redistributor address");
	return r;
}

int vmm_vgic_init(struct vmm_vm *vm)
{
	return vgic_attr(vm, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT,
			 NULL, "KVM_DEV_ARM_VGIC_CTRL_INIT");
}

int vmm_inject_ext_dabt(struct vmm_vm *vm)
{
	struct kvm_vcpu_events ev;

	if (vmm_check_cap(vm->vm_fd, KVM_CAP_ARM_INJECT_EXT_DABT) <= 0)
		return vmm_err(EOPNOTSUPP, "KVM_CAP_ARM_INJECT_EXT_DABT");
	memset(&ev, 0, sizeof(ev));
	if (ioctl(vm->vcpu_fd, KVM_GET_VCPU_EVENTS, &ev))
		return vmm_err(errno, "KVM_GET_VCPU_EVENTS");
	ev.exception.ext_dabt_pending = 1;
	if (ioctl(vm->vcpu_fd, KVM_SET_VCPU_EVENTS, &ev))
		return vmm_err(errno, "KVM_SET_VCPU_EVENTS(ext_dabt_pending)");
	return 0;
}

static int step_pc(struct vmm_vm *vm)
{
	uint64_t pc;
	int r = vmm_get_pc(vm, &pc);

	return r ? r : vmm_set_pc(vm, pc + 4);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int vmm_run(struct vmm_vm *vm)
{
	struct kvm_run *run = vm->run;
	struct vmm_stats *st = &vm->st;
	uint64_t t0 = now_ns();
	int ret = 0;

	for (;;) {
		int r;

		if (st->runs >= vm->max_runs) {
			ret = vmm_err(ELOOP, "guest still running after %llu "
				      "KVM_RUNs", (unsigned long long)st->runs);
			break;
		}
		st->runs++;
		r = ioctl(vm->vcpu_fd, KVM_RUN, 0);
		if (r < 0) {
			int e = errno;

			if (e == EINTR || e == EAGAIN) {
				st->eintr++;
				continue;
			}
			if (e == ENOSYS) {
				/* an abort KVM could not handle (no syndrome
				 * and no NISV cap): step over it */
				st->enosys++;
				if (vm->verbose)
					fprintf(stderr, "kvmcmo: vmm: KVM_RUN: "
						"ENOSYS, stepping over\n");
				ret = step_pc(vm);
				if (ret)
					break;
				continue;
			}
			ret = vmm_err(e, "KVM_RUN");
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_MMIO:
			st->mmio_exits++;
			st->last_mmio_addr = run->mmio.phys_addr;
			if (run->mmio.is_write) {
				st->mmio_writes++;
			} else {
				st->mmio_reads++;
				memset(run->mmio.data, 0, sizeof(run->mmio.data));
			}
			if (vm->verbose)
				fprintf(stderr, "kvmcmo: vmm: mmio %s %#llx len %u\n",
					run->mmio.is_write ? "write" : "read",
					(unsigned long long)run->mmio.phys_addr,
					run->mmio.len);
			continue;
		case KVM_EXIT_ARM_NISV:
			st->nisv_exits++;
			st->last_nisv_ipa = run->arm_nisv.fault_ipa;
			st->last_nisv_esr_iss = run->arm_nisv.esr_iss;
			if (vm->verbose)
				fprintf(stderr, "kvmcmo: vmm: nisv ipa %#llx "
					"esr_iss %#llx\n",
					(unsigned long long)run->arm_nisv.fault_ipa,
					(unsigned long long)run->arm_nisv.esr_iss);
			ret = step_pc(vm);
			if (ret)
				break;
			continue;
		case KVM_EXIT_SYSTEM_EVENT:
			st->system_events++;
			st->system_event_type = run->system_event.type;
			break;
		case KVM_EXIT_FAIL_ENTRY:
			st->other_exits++;
			ret = vmm_err(EIO, "KVM_EXIT_FAIL_ENTRY, reason %#llx",
				      (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			st->other_exits++;
			ret = vmm_err(EIO, "KVM_EXIT_INTERNAL_ERROR, suberror %u",
				      run->internal.suberror);
			break;
		default:
			st->other_exits++;
			ret = vmm_err(EIO, "unexpected exit reason %u",
				      run->exit_reason);
			break;
		}
		break;
	}
	st->ns = now_ns() - t0;
	if (!ret && st->system_event_type != KVM_SYSTEM_EVENT_SHUTDOWN)
		fprintf(stderr, "kvmcmo: vmm: guest stopped with system event "
			"type %u (expected shutdown)\n", st->system_event_type);
	return ret;
}

void vmm_vm_destroy(struct vmm_vm *vm)
{
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->gic_fd >= 0)
		close(vm->gic_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	for (int i = 0; i < vm->nslots; i++)
		vmm_mem_free(vm->slots[i].mem, vm->slots[i].size);
	vm->run = NULL;
	vm->vcpu_fd = vm->vm_fd = vm->gic_fd = -1;
	vm->nslots = 0;
}

#else /* !__aarch64__ */

static int no_kvm(void)
{
	return vmm_err(EOPNOTSUPP, "the workload VMM needs an arm64 host "
		       "with KVM");
}

int vmm_open(void) { return no_kvm(); }
int vmm_check_cap(int fd, unsigned int cap) { (void)fd; (void)cap; return -EOPNOTSUPP; }
int vmm_vm_create(struct vmm_vm *vm, int kvm_fd)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = kvm_fd;
	vm->vm_fd = vm->vcpu_fd = vm->gic_fd = -1;
	return no_kvm();
}
int vmm_enable_nisv(struct vmm_vm *vm) { (void)vm; return no_kvm(); }
int vmm_add_slot(struct vmm_vm *vm, uint64_t ipa, uint64_t size,
		 uint32_t flags, void *mem)
{
	(void)vm; (void)ipa; (void)size; (void)flags; (void)mem;
	return no_kvm();
}
int vmm_dirty_pages(struct vmm_vm *vm, int slot_index, uint64_t *count)
{
	(void)vm; (void)slot_index; (void)count;
	return no_kvm();
}
int vmm_vcpu_create(struct vmm_vm *vm) { (void)vm; return no_kvm(); }
int vmm_set_pc(struct vmm_vm *vm, uint64_t pc) { (void)vm; (void)pc; return no_kvm(); }
int vmm_get_pc(struct vmm_vm *vm, uint64_t *pc) { (void)vm; (void)pc; return no_kvm(); }
int vmm_set_xreg(struct vmm_vm *vm, unsigned int n, uint64_t v)
{
	(void)vm; (void)n; (void)v;
	return no_kvm();
}
int vmm_get_xreg(struct vmm_vm *vm, unsigned int n, uint64_t *v)
{
	(void)vm; (void)n; (void)v;
	return no_kvm();
}
int vmm_set_vbar(struct vmm_vm *vm, uint64_t vbar) { (void)vm; (void)vbar; return no_kvm(); }
int vmm_set_sysreg(struct vmm_vm *vm, uint32_t sysreg, uint64_t v)
{
	(void)vm; (void)sysreg; (void)v;
	return no_kvm();
}
int vmm_get_sysreg(struct vmm_vm *vm, uint32_t sysreg, uint64_t *v)
{
	(void)vm; (void)sysreg; (void)v;
	return no_kvm();
}
int vmm_vgic_v3_create(struct vmm_vm *vm, uint64_t dist, uint64_t redist)
{
	(void)vm; (void)dist; (void)redist;
	return no_kvm();
}
int vmm_vgic_init(struct vmm_vm *vm) { (void)vm; return no_kvm(); }
int vmm_inject_ext_dabt(struct vmm_vm *vm) { (void)vm; return no_kvm(); }
int vmm_run(struct vmm_vm *vm) { (void)vm; return no_kvm(); }
void vmm_vm_destroy(struct vmm_vm *vm)
{
	for (int i = 0; i < vm->nslots; i++)
		vmm_mem_free(vm->slots[i].mem, vm->slots[i].size);
	vm->nslots = 0;
}

#endif /* __aarch64__ */
