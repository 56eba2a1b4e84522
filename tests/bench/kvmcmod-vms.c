// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kvmcmod-vms.c - N small VMs alive at once in one process, for
 * tests/bench/kvmcmod-bench.sh: kvmcmod then tracks N live VMs, as on a
 * busy host.  Built from the workload's own VMM and guest encoder
 * (tools/kvmcmo/vmm.c, guest.c).
 *
 *   kvmcmod-vms N [PAGES (8)]
 *
 * Each VM (one vCPU, the workload's memory map) reads PAGES pages of a
 * plain slot, reads and then writes PAGES pages of a dirty-logged slot,
 * reads one page of a read-only slot, writes it (an MMIO exit), reads one
 * page outside every memslot (an MMIO exit), then powers off: seven
 * series of kvmcmo_guest_aborts_total per VM, with the code page's fetch.
 * Once every VM has run, "ready N" goes to stdout and the VMs stay alive
 * (their fds open) until SIGTERM, SIGINT or stdin's end; then they are
 * destroyed and the process exits 0.  Exit 1 if a VM cannot be made or
 * run (what failed is on stderr).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"
#include "vmm.h"

#define CODE_IPA 0x40000000ULL
#define RW_IPA 0x41000000ULL
#define DIRTY_IPA 0x42000000ULL
#define RO_IPA 0x43000000ULL
#define NONE_IPA 0x50000000ULL
#define CODE_SIZE (64UL << 10)
#define VBAR_OFF 0x800UL
#define SYNC_OFF (VBAR_OFF + 0x200)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int slot(struct vmm_vm *vm, uint64_t ipa, unsigned long pages, uint32_t flags)
{
	size_t size = pages * VMM_PAGE_SIZE;
	void *mem;
	int r = vmm_mem_alloc(size, &mem);

	if (r)
		return r;
	r = vmm_add_slot(vm, ipa, size, flags, mem);
	if (r)
		vmm_mem_free(mem, size);
	return r;
}

static int make_vm(struct vmm_vm *vm, int kvm_fd, unsigned long pages)
{
	struct guest_prog p;
	void *code;
	int r;

	r = vmm_vm_create(vm, kvm_fd);
	if (r)
		return r;
	r = vmm_mem_alloc(CODE_SIZE, &code);
	if (r)
		return r;
	guest_prog_init(&p, code, VMM_PAGE_SIZE / 4);
	guest_emit(&p, a64_nop());
	guest_emit_page_loop(&p, GUEST_OP_READ, RW_IPA, pages, VMM_PAGE_SIZE);
	guest_emit_page_loop(&p, GUEST_OP_READ, DIRTY_IPA, pages, VMM_PAGE_SIZE);
	guest_emit_page_loop(&p, GUEST_OP_WRITE, DIRTY_IPA, pages, VMM_PAGE_SIZE);
	guest_emit_page_loop(&p, GUEST_OP_READ, RO_IPA, 1, VMM_PAGE_SIZE);
	guest_emit_page_loop(&p, GUEST_OP_WRITE, RO_IPA, 1, VMM_PAGE_SIZE);
	guest_emit_page_loop(&p, GUEST_OP_READ, NONE_IPA, 1, VMM_PAGE_SIZE);
	guest_emit_system_off(&p);
	guest_emit_pad_to(&p, SYNC_OFF / 4);
	guest_emit_sync_handler(&p);
	if (p.err) {
		vmm_mem_free(code, CODE_SIZE);
		return p.err;
	}
	r = vmm_add_slot(vm, CODE_IPA, CODE_SIZE, 0, code);
	if (r) {
		vmm_mem_free(code, CODE_SIZE);
		return r;
	}
	r = slot(vm, RW_IPA, pages, 0);
	if (!r)
		r = slot(vm, DIRTY_IPA, pages, VMM_SLOT_LOG_DIRTY);
	if (!r)
		r = slot(vm, RO_IPA, 1, VMM_SLOT_READONLY);
	if (!r)
		r = vmm_vcpu_create(vm);
	if (!r)
		r = vmm_set_pc(vm, CODE_IPA);
	if (!r)
		r = vmm_set_vbar(vm, CODE_IPA + VBAR_OFF);
	if (!r)
		r = vmm_run(vm);
	return r;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long pages = argc > 2 ? strtoul(argv[2], NULL, 10) : 8;
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	struct vmm_vm *vms;
	int kvm_fd, status = 0;
	long made = 0;

	if (argc < 2 || argc > 3 || n < 1 || n > 4096 || pages < 1 || pages > 256) {
		fprintf(stderr, "usage: kvmcmod-vms N (1..4096) [PAGES (1..256, default 8)]\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	vms = calloc((size_t)n, sizeof(*vms));
	if (!vms)
		return 1;
	kvm_fd = vmm_open();
	if (kvm_fd < 0)
		return 1;
	for (; made < n && !stop; made++) {
		int r = make_vm(&vms[made], kvm_fd, pages);

		if (r) {
			fprintf(stderr, "kvmcmod-vms: VM %ld: %s\n", made, strerror(-r));
			status = 1;
			made++;
			break;
		}
	}
	if (!status && !stop) {
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		char c;

		printf("ready %ld\n", made);
		fflush(stdout);
		while (!stop) {
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				break;
			if (pfd.revents && read(0, &c, 1) <= 0)
				break;  /* stdin closed */
		}
	}
	for (long i = 0; i < made; i++)
		vmm_vm_destroy(&vms[i]);
	close(kvm_fd);
	free(vms);
	return status;
}
