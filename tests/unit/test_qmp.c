/*
 * The QMP client (backends/kvm/qmp.c) and the backend's reading of the
 * replies (backends/kvm/replies.c) against a QEMU that lies: a QEMU may
 * be its guest's.  The fake QEMU is a child process on a socketpair that
 * sends the greeting, accepts the capabilities, then sends a script.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backends/kvm/kvm.h"

static const char greeting[] =
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
	"\"major\": 7}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n"
	"{\"return\": {}, \"id\": 1}\r\n";
static const char event[] =
	"{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
	"\"event\": \"BALLOON_CHANGE\", \"data\": {\"actual\": 1}}\r\n";

struct fake {
	pid_t pid;
	struct qmp *q;
	char err[256];
};

static void write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			_exit(0);	/* the client went away: fine */
		p += n;
		len -= (size_t)n;
	}
}

/* The fake QEMU's side: sends script (len bytes) after the handshake,
 * then, if forever is set, that line again and again (many per write, so
 * that the client never finds the socket empty); else it ends its side
 * of the stream but reads the client's until that hangs up. */
static void qemu_child(int fd, const char *script, size_t len,
		       const char *forever)
{
	static char buf[16384];
	size_t fl, n = 0;

	write_all(fd, greeting, strlen(greeting));
	write_all(fd, script, len);
	if (forever) {
		fl = strlen(forever);
		while (n + fl <= sizeof(buf)) {
			memcpy(buf + n, forever, fl);
			n += fl;
		}
		for (;;)
			write_all(fd, buf, n);
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	_exit(0);
}

static void fake_qemu(struct fake *f, const char *script, size_t len,
		      const char *forever)
{
	int fds[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		close(fds[0]);
		qemu_child(fds[1], script, len, forever);
	}
	close(fds[1]);
	assert_int_equal(qmp_open_fd(fds[0], 5000, &f->q, f->err,
				     sizeof(f->err)), 0);
}

static void fake_done(struct fake *f)
{
	qmp_close(f->q);
	kill(f->pid, SIGKILL);
	waitpid(f->pid, NULL, 0);
}

static int call(struct fake *f, yajl_val *ret)
{
	return qmp_command(f->q, "query-status", NULL, 5000, ret, f->err,
			   sizeof(f->err));
}

static char *repeat(const char *head, char c, size_t n, const char *tail)
{
	size_t hl = strlen(head), tl = strlen(tail);
	char *s = malloc(hl + n + tl + 1);

	assert_non_null(s);
	memcpy(s, head, hl);
	memset(s + hl, c, n);
	memcpy(s + hl + n, tail, tl + 1);
	return s;
}

static void a_good_reply_is_read(void **state)
{
	static const char s[] = "{\"return\": {\"status\": \"running\"}, \"id\": 2}\n";
	struct fake f;
	yajl_val ret;

	(void)state;
	fake_qemu(&f, s, strlen(s), NULL);
	assert_int_equal(call(&f, &ret), 0);
	assert_string_equal(kvm_jstr(kvm_jget(ret, "return", "status")),
			    "running");
	yajl_tree_free(ret);
	fake_done(&f);
}

static void an_oversized_reply_is_refused(void **state)
{
	/* 2 MiB with no end of line: refused at the 1 MiB bound. */
	char *s = repeat("{\"return\": \"", 'a', 2 << 20, "");
	struct fake f;
	yajl_val ret;

	(void)state;
	fake_qemu(&f, s, strlen(s), NULL);
	assert_int_equal(call(&f, &ret), -E2BIG);
	assert_null(ret);
	fake_done(&f);
	free(s);
}

static void a_truncated_reply_is_an_error(void **state)
{
	static const char s[] = "{\"return\": {\"status\": \"runn";
	struct fake f;
	yajl_val ret;

	(void)state;
	fake_qemu(&f, s, strlen(s), NULL);
	assert_int_equal(call(&f, &ret), -ECONNRESET);
	assert_null(ret);
	assert_non_null(strstr(f.err, "query-status"));
	fake_done(&f);
}

static void a_reply_that_is_not_json_is_an_error(void **state)
{
	static const char s[] = "this is not JSON\n{\"return\": {}, \"id\": 2}\n";
	struct fake f;
	yajl_val ret;

	(void)state;
	fake_qemu(&f, s, strlen(s), NULL);
	assert_int_equal(call(&f, &ret), -EPROTO);
	assert_null(ret);
	fake_done(&f);
}

static void wrong_types_are_not_taken(void **state)
{
	/* an id that is a string is no reply of ours; an error whose desc
	 * is a number is still an error */
	static const char s[] = "{\"return\": {}, \"id\": \"2\"}\n"
				"{\"return\": {}, \"id\": 2.0}\n"
				"{\"error\": {\"desc\": 5}, \"id\": 2}\n";
	struct fake f;
	yajl_val ret;

	(void)state;
	fake_qemu(&f, s, strlen(s), NULL);
	assert_int_equal(call(&f, &ret), -EIO);
	assert_null(ret);
	assert_string_equal(f.err, "query-status: error");
	fake_done(&f);
}

static void a_missing_return_is_no_list(void **state)
{
	static const char s[] = "{\"id\": 2}\n{\"return\": {\"a\": 1}, \"id\": 3}\n";
	struct vcpu_threads t;
	struct fake f;
	yajl_val ret;

	(void)state;
	fake_qemu(&f, s, strlen(s), NULL);
	assert_int_equal(call(&f, &ret), 0);
	assert_int_equal(kvm_vcpu_threads_parse(ret, NULL, &t), -EPROTO);
	yajl_tree_free(ret);
	assert_int_equal(call(&f, &ret), 0);
	assert_int_equal(kvm_vcpu_threads_parse(ret, NULL, &t), -EPROTO);
	yajl_tree_free(ret);
	fake_done(&f);
}

static yajl_val tree(const char *json)
{
	char ebuf[128];
	yajl_val v = yajl_tree_parse(json, ebuf, sizeof(ebuf));

	assert_non_null(v);
	return v;
}

static void lying_vcpu_indexes_stay_in_bounds(void **state)
{
	static const char *const lies[] = {
		"4294967295",		/* n + 1 wraps to 0 */
		"4294967296",		/* n wraps to 1 */
		"1099511627776",
		"100000000",		/* 400 MB of thread ids */
		"9223372036854775807",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		char json[256];
		struct vcpu_threads t;
		yajl_val cpus;

		snprintf(json, sizeof(json),
			 "{\"return\": [{\"cpu-index\": 0, \"thread-id\": 7}, "
			 "{\"cpu-index\": %s, \"thread-id\": 8}]}", lies[i]);
		cpus = tree(json);
		assert_int_equal(kvm_vcpu_threads_parse(cpus, NULL, &t), 0);
		assert_true(t.n >= 1 && t.n <= 4096);
		assert_int_equal(t.tid[0], 7);
		free(t.tid);
		yajl_tree_free(cpus);
	}
}

static void an_event_flood_is_bounded(void **state)
{
	size_t n = 20000, el = strlen(event), i;
	static const char reply[] = "{\"return\": {}, \"id\": 2}\n";
	char *s = malloc(n * el + sizeof(reply));
	struct fake f;
	yajl_val ret, ev;
	unsigned kept = 0;
	int rc;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * el, event, el);
	memcpy(s + n * el, reply, sizeof(reply));
	fake_qemu(&f, s, strlen(s), NULL);
	assert_int_equal(call(&f, &ret), 0);
	yajl_tree_free(ret);
	while ((ev = qmp_next_event(f.q, 0, &rc))) {
		kept++;
		yajl_tree_free(ev);
	}
	assert_true(kept >= 1 && kept <= QMP_EVENTS_MAX);
	fake_done(&f);
	free(s);
}

static void endless_events_do_not_outlast_the_deadline(void **state)
{
	struct timespec a, b;
	struct fake f;
	yajl_val ret;
	long ms;

	(void)state;
	alarm(30);	/* a hang is a failure, not a stuck suite */
	fake_qemu(&f, "", 0, event);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(qmp_command(f.q, "query-status", NULL, 300, &ret,
				     f.err, sizeof(f.err)), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms < 3000);
	alarm(0);
	fake_done(&f);
}

static void deep_nesting_is_refused(void **state)
{
	/* 300000 levels fit the 1 MiB line; freeing them recursively
	 * would not fit the stack. */
	size_t d = 300000;
	char *s = malloc(2 * d + 64);
	struct fake f;
	yajl_val ret;
	size_t len;
	int rc;

	(void)state;
	assert_non_null(s);
	len = (size_t)sprintf(s, "{\"return\": ");
	memset(s + len, '[', d);
	memset(s + len + d, ']', d);
	len += 2 * d;
	len += (size_t)sprintf(s + len, ", \"id\": 2}\n");
	fake_qemu(&f, s, len, NULL);
	rc = call(&f, &ret);
	yajl_tree_free(ret);	/* recursive: must not be reached */
	assert_int_equal(rc, -EPROTO);
	fake_done(&f);
	free(s);
}

/* getfd's descriptor rides on the command (SCM_RIGHTS): QEMU receives
 * the caller's open file and the whole command line with it.  In one
 * process: QEMU's side is the socketpair's other end, its replies
 * written ahead. */
static void a_descriptor_goes_with_the_command(void **state)
{
	static const char reply[] = "{\"return\": {}, \"id\": 2}\n";
	char err[256], text[4096], cbuf[CMSG_SPACE(sizeof(int))];
	size_t got = 0;
	int fds[2], file, passed = -1;
	struct stat a, b;
	struct qmp *q;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(write(fds[1], greeting, strlen(greeting)),
			 (ssize_t)strlen(greeting));
	assert_int_equal(qmp_open_fd(fds[0], 5000, &q, err, sizeof(err)), 0);
	assert_int_equal(write(fds[1], reply, strlen(reply)),
			 (ssize_t)strlen(reply));
	file = memfd_create("save", 0);
	assert_true(file >= 0);
	assert_int_equal(qmp_command_fd(q, "getfd", "{\"fdname\":\"x\"}", file,
					5000, NULL, err, sizeof(err)), 0);
	while (got < sizeof(text) - 1) {
		struct iovec iov = { text + got, sizeof(text) - 1 - got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c;
		ssize_t n = recvmsg(fds[1], &mh, MSG_DONTWAIT);

		if (n <= 0)
			break;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_RIGHTS)
				memcpy(&passed, CMSG_DATA(c), sizeof(int));
		got += (size_t)n;
	}
	text[got] = '\0';
	assert_non_null(strstr(text, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"x\"},\"id\":2}\n"));
	assert_true(passed >= 0);
	assert_int_equal(fstat(file, &a), 0);
	assert_int_equal(fstat(passed, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(passed);
	close(file);
	qmp_close(q);
	close(fds[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_good_reply_is_read),
		cmocka_unit_test(a_descriptor_goes_with_the_command),
		cmocka_unit_test(an_oversized_reply_is_refused),
		cmocka_unit_test(a_truncated_reply_is_an_error),
		cmocka_unit_test(a_reply_that_is_not_json_is_an_error),
		cmocka_unit_test(wrong_types_are_not_taken),
		cmocka_unit_test(a_missing_return_is_no_list),
		cmocka_unit_test(lying_vcpu_indexes_stay_in_bounds),
		cmocka_unit_test(an_event_flood_is_bounded),
		cmocka_unit_test(endless_events_do_not_outlast_the_deadline),
		cmocka_unit_test(deep_nesting_is_refused),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("qmp", tests, NULL, NULL);
}
