/*
 * xenbus/seccomp.c: what a device's worker may still ask of the kernel
 * once it serves (docs/design/xenbus.md, "Isolation").
 *
 * A worker serves its rings from an event loop: it waits (epoll), reads
 * and writes the fds it holds (event channels, its socket, its disk or
 * tap), maps and unmaps the frontend's pages (mmap and the grant device's
 * ioctls), allocates memory, and exits; the engine adds the few calls of
 * its own I/O (io_uring_enter, timerfd_settime, ...).  Nothing else: no
 * open, no exec, no fork, no kill, no new socket.  A frontend that finds a
 * bug in the worker owns a process that can touch only its own fds.
 *
 * A call outside the list traps (SIGSYS): the handler writes which one to
 * stderr (the daemon's log) and the worker exits 159, which the daemon
 * reports in the device's error node.  open, openat, socket and connect
 * are refused with EACCES rather than trapped: syslog(3) and the time
 * zone code, which a worker's log line may reach, try them and carry on.
 *
 * A classic BPF program, written out here (no libseccomp): x86-64 only;
 * another architecture, or the x32 ABI's numbers, is refused.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "xenbus/private.h"

#if defined(__x86_64__)
#define XB_AUDIT_ARCH AUDIT_ARCH_X86_64
#endif

#ifdef XB_AUDIT_ARCH
static const int base[] = {
	/* the loop and its fds */
	SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_ctl,
	SYS_read, SYS_write, SYS_readv, SYS_writev,
	SYS_recvfrom, SYS_sendto, SYS_recvmsg, SYS_sendmsg,
	SYS_close, SYS_fcntl, SYS_ioctl, SYS_fstat, SYS_newfstatat, SYS_lseek,
	/* grant copy on the shm transport (Xen's is an ioctl) */
	SYS_pread64, SYS_pwrite64,
	/* memory: the frontend's pages and malloc's */
	SYS_mmap, SYS_munmap, SYS_mprotect, SYS_madvise, SYS_brk, SYS_mremap,
	/* time, signals, the end */
	SYS_clock_gettime, SYS_gettimeofday, SYS_rt_sigreturn,
	SYS_rt_sigprocmask, SYS_sigaltstack, SYS_getpid, SYS_gettid,
	SYS_futex, SYS_sched_yield, SYS_nanosleep, SYS_clock_nanosleep,
	SYS_exit, SYS_exit_group,
};

static const int refused[] = { SYS_open, SYS_openat, SYS_socket, SYS_connect };

static char who[32];	/* the worker's name, for the trap's line */

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	char line[128];
	int n;

	(void)sig;
	(void)ctx;
	n = snprintf(line, sizeof(line),
		     "%s: worker %d: system call %d refused (seccomp)\n", who,
		     (int)getpid(), si->si_syscall);
	if (n > 0)
		(void)!write(STDERR_FILENO, line, (size_t)n);
	_exit(128 + SIGSYS);
}

int xenbus_seccomp_install(const char *name, const int *extra, unsigned nextra)
{
	enum { HEAD = 5, TAIL = 2, MAX_EXTRA = 16 };
	const unsigned nallow = ARRAY_SIZE(base) + nextra;
	struct sock_filter prog[HEAD + 2 * (ARRAY_SIZE(base) + MAX_EXTRA +
					    ARRAY_SIZE(refused)) + TAIL];
	struct sock_fprog fprog;
	struct sigaction sa;
	unsigned n = 0, i;

	if (nextra > MAX_EXTRA)
		return -EINVAL;
	snprintf(who, sizeof(who), "%s", name);
#define STMT(code, k) (prog[n++] = (struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) \
	(prog[n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf))
	/* The architecture first: syscall numbers mean nothing without it. */
	STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	JUMP(BPF_JMP | BPF_JEQ | BPF_K, XB_AUDIT_ARCH, 1, 0);
	STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	/* x32's numbers carry this bit: not ours. */
	JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u,
	     (unsigned char)(2 * (nallow + ARRAY_SIZE(refused)) + 1), 0);
	for (i = 0; i < nallow; i++) {
		int nr = i < ARRAY_SIZE(base) ? base[i] : extra[i - ARRAY_SIZE(base)];

		JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1);
		STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	}
	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)refused[i], 0, 1);
		STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES);
	}
	STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
	/* x32 lands here */
	STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
#undef STMT
#undef JUMP

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	fprog.len = (unsigned short)n;
	fprog.filter = prog;
	/* no_new_privs is set already: an unprivileged process may install
	 * a filter. */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) < 0)
		return -errno;
	return 0;
}
#else
int xenbus_seccomp_install(const char *name, const int *extra, unsigned nextra)
{
	(void)name;
	(void)extra;
	(void)nextra;
	return -ENOSYS;	/* no filter written for this architecture */
}
#endif
