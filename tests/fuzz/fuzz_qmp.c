/*
 * The QMP client (backends/kvm/qmp.c) and what the backend makes of the
 * replies: the input is everything a QEMU sends on its monitor socket, and
 * a QEMU may be its guest's.  Over a socketpair: the greeting, the
 * capabilities, then the commands the backend runs (query-status,
 * query-balloon, query-cpus-fast, query-hotpluggable-cpus) with their
 * replies read as the backend reads them, then the queued events.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/kvm/kvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void command(struct qmp *q, const char *cmd, yajl_val *ret)
{
	char err[256];

	if (qmp_command(q, cmd, NULL, 1000, ret, err, sizeof(err)) &&
	    !memchr(err, '\0', sizeof(err)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vcpu_threads t;
	yajl_val status = NULL, balloon = NULL, cpus = NULL, slots = NULL, v;
	struct qmp *q;
	char err[256];
	int fds[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds))
		abort();
	/* All of QEMU's side at once, then its end of the stream. */
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	if (size && write(fds[1], data, size) < 0)
		abort();
	shutdown(fds[1], SHUT_WR);
	if (qmp_open_fd(fds[0], 1000, &q, err, sizeof(err))) {
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	command(q, "query-status", &status);
	(void)kvm_jstr(kvm_jget(status, "return", "status"));
	command(q, "query-balloon", &balloon);
	v = kvm_jget(balloon, "return", "actual");
	if (v && YAJL_IS_INTEGER(v))
		(void)(YAJL_GET_INTEGER(v) / 1024);
	command(q, "query-cpus-fast", &cpus);
	command(q, "query-hotpluggable-cpus", &slots);
	if (!kvm_vcpu_threads_parse(cpus, slots, &t))
		free(t.tid);
	yajl_tree_free(status);
	yajl_tree_free(balloon);
	yajl_tree_free(cpus);
	yajl_tree_free(slots);
	while ((v = qmp_next_event(q, 0, &rc))) {
		(void)qmp_event_name(v);
		yajl_tree_free(v);
	}
	qmp_close(q);	/* closes fds[0] */
	close(fds[1]);
	return 0;
}
