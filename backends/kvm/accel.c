/*
 * Does KVM work here?  "Works" is checked, not assumed: some hosts have a
 * /dev/kvm that opens while the CPU exposes no vmx/svm, and a guest started
 * there hangs in early boot.  So besides the static checks we run a guest of
 * one instruction (hlt) in a child process and wait for it, with a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvm.h"

static bool cpu_has_virt(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5) &&
		    (strstr(line, " vmx") || strstr(line, " svm")))
			found = true;
	fclose(f);
	return found;
}

/* In the child: a real-mode guest whose only instruction is hlt. */
static int run_hlt_guest(int kvm)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0x1000, .memory_size = 0x1000,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 0x2 };
	struct kvm_run *run;
	int vm, vcpu, run_size;
	uint8_t *mem;

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return 2;
	mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 2;
	mem[0] = 0xf4;	/* hlt */
	region.userspace_addr = (uint64_t)(uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return 2;
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || run_size <= 0)
		return 2;
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu, 0);
	if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return 2;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return 2;
	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return 3;
	return run->exit_reason == KVM_EXIT_HLT ? 0 : 4;
}

int kvm_probe(struct kvm_accel *out)
{
	const int deadline_ms = 3000;
	int kvm, version, status, waited;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		snprintf(out->why, sizeof(out->why), "/dev/kvm: %s",
			 strerror(errno));
		return 0;
	}
	version = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		snprintf(out->why, sizeof(out->why),
			 "/dev/kvm speaks API %d, not %d", version,
			 KVM_API_VERSION);
		goto out;
	}
	if (!cpu_has_virt()) {
		snprintf(out->why, sizeof(out->why),
			 "/dev/kvm opens, but the CPU exposes no vmx/svm (guests would hang)");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(out->why, sizeof(out->why), "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		alarm(5);	/* belt and braces: the parent kills us anyway */
		_exit(run_hlt_guest(kvm));
	}
	for (waited = 0; waited < deadline_ms; waited += 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		usleep(10000);
	}
	if (waited >= deadline_ms) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		snprintf(out->why, sizeof(out->why),
			 "a one-instruction KVM guest did not finish in %d ms",
			 deadline_ms);
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(out->why, sizeof(out->why),
			 "a one-instruction KVM guest failed (status %d)",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		goto out;
	}
	out->kvm = true;
	snprintf(out->why, sizeof(out->why), "/dev/kvm runs guests");
out:
	close(kvm);
	return 0;
}
