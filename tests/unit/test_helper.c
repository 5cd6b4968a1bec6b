/*
 * The Xen backend's helper process (backends/xen/helper.c), on any host:
 * libxenctrl's open and close are stood in for here, so the child runs
 * the job's function as it would run libxenguest's.  What the parent must
 * survive is proven: a child that answers, asks, fails with libxenguest's
 * words, exits, crashes or is interrupted without a word; the parent always comes back
 * with a message naming the job, never hangs, never dies with it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/xen/xen.h"

/* ---- stand-ins for what the helper takes from libxenctrl and xen.c ---- */

static xentoollog_logger *child_logger;

xc_interface *xc_interface_open(xentoollog_logger *logger,
				xentoollog_logger *dombuild_logger,
				unsigned open_flags)
{
	(void)dombuild_logger;
	(void)open_flags;
	child_logger = logger;
	return (xc_interface *)logger;	/* any non-NULL handle */
}

int xc_interface_close(xc_interface *xch)
{
	(void)xch;
	return 0;
}

/* The real logger keeps the first and last errors; so does this one, as
 * its messages come (see say()). */
void xen_logger_init(struct xen_logger *l)
{
	memset(l, 0, sizeof(*l));
}

static void say(const char *msg)
{
	struct xen_logger *l = (struct xen_logger *)child_logger;

	snprintf(l->last, sizeof(l->last), "%s", msg);
	if (!l->first[0])
		snprintf(l->first, sizeof(l->first), "%s", msg);
}

/* ---- jobs ---- */

static int run_ok(xc_interface *xch, struct xen_helper *h, void *arg)
{
	(void)xch;
	(void)arg;
	xen_helper_results(h, 0x1234, 0x5678);
	return 0;
}

static int run_fails(xc_interface *xch, struct xen_helper *h, void *arg)
{
	(void)xch;
	(void)h;
	(void)arg;
	say("Failed to read Record Header from stream");
	say("Restore failed");
	return -EIO;
}

/* Asks twice; the parent's answers (counted in arg) decide.  The first
 * question's figures come back summed: the answer is a value. */
static int run_asks(xc_interface *xch, struct xen_helper *h, void *arg)
{
	static const uint64_t figures[XEN_HELPER_ARGS] = { 1, 2, 3, 4 };
	int *answers = arg;
	int r = xen_helper_ask(h, 7, figures);

	(void)xch;
	if (r != 10)
		return r < 0 ? r : -EPROTO;
	r = xen_helper_ask(h, 8, NULL);
	*answers = 2;	/* the child's copy: not seen by the parent */
	return r;
}

static int answer_count(struct enso_ctx *ctx, uint32_t question,
			const uint64_t q[XEN_HELPER_ARGS], void *arg,
			struct enso_error *err)
{
	int *asked = arg;

	(void)ctx;
	*asked += (int)question;
	if (question == 8)
		return exl_fail(err, -ETIMEDOUT, "domain 9 did not suspend within 60 s");
	return (int)(q[0] + q[1] + q[2] + q[3]);
}

static int run_crashes(xc_interface *xch, struct xen_helper *h, void *arg)
{
	(void)xch;
	(void)h;
	(void)arg;
	signal(SIGSEGV, SIG_DFL);	/* not cmocka's handler: a real crash */
	raise(SIGSEGV);
	return 0;
}

static int run_interrupted(xc_interface *xch, struct xen_helper *h, void *arg)
{
	(void)xch;
	(void)h;
	(void)arg;
	raise(SIGINT);	/* the helper's own default action: it ends */
	return 0;
}

static int run_exits(xc_interface *xch, struct xen_helper *h, void *arg)
{
	(void)xch;
	(void)h;
	(void)arg;
	_exit(3);
}

/* ---- tests ---- */

static void done_with_results(void **state)
{
	struct xen_helper_job job = { .what = "domain 5: saving its state",
				      .run = run_ok };
	struct enso_error err = { "" };

	(void)state;
	assert_int_equal(xen_helper_run(NULL, &job, &err), 0);
	assert_int_equal(job.store_mfn, 0x1234);
	assert_int_equal(job.console_mfn, 0x5678);
}

static void libxenguest_words(void **state)
{
	struct xen_helper_job job = { .what = "d (domain 5): loading the saved state",
				      .run = run_fails };
	struct enso_error err = { "" };

	(void)state;
	assert_int_equal(xen_helper_run(NULL, &job, &err), -EIO);
	assert_string_equal(err.msg,
			    "d (domain 5): loading the saved state: Failed to read Record Header from stream; Restore failed");
}

static void asks_and_answers(void **state)
{
	int asked = 0;
	struct xen_helper_job job = { .what = "domain 9: saving its state",
				      .run = run_asks,
				      .answer = answer_count, .arg = &asked };
	struct enso_error err = { "" };

	(void)state;
	/* The parent's failure is what the user reads first. */
	assert_int_equal(xen_helper_run(NULL, &job, &err), -ETIMEDOUT);
	assert_int_equal(asked, 7 + 8);
	assert_non_null(strstr(err.msg, "domain 9: saving its state: domain 9 did not suspend within 60 s"));
}

static void no_answerer(void **state)
{
	int asked = 0;
	struct xen_helper_job job = { .what = "job", .run = run_asks,
				      .arg = &asked };
	struct enso_error err = { "" };

	(void)state;
	assert_int_equal(xen_helper_run(NULL, &job, &err), -ENOSYS);
	assert_non_null(strstr(err.msg, "job: "));
}

static void child_crashes(void **state)
{
	struct xen_helper_job job = { .what = "domain 5: saving its state",
				      .run = run_crashes };
	struct enso_error err = { "" };

	(void)state;
	assert_int_equal(xen_helper_run(NULL, &job, &err), -EIO);
	assert_non_null(strstr(err.msg, "domain 5: saving its state: the helper process killed by signal 11"));
	assert_non_null(strstr(err.msg, "before it finished"));
}

static void child_interrupted(void **state)
{
	struct xen_helper_job job = { .what = "job", .run = run_interrupted };
	struct enso_error err = { "" };

	(void)state;
	assert_int_equal(xen_helper_run(NULL, &job, &err), -ECANCELED);
	assert_non_null(strstr(err.msg, "job: interrupted by"));
}

static void child_exits(void **state)
{
	struct xen_helper_job job = { .what = "job", .run = run_exits };
	struct enso_error err = { "" };

	(void)state;
	assert_int_equal(xen_helper_run(NULL, &job, &err), -EIO);
	assert_non_null(strstr(err.msg, "job: the helper process exited with status 3 before it finished"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(done_with_results),
		cmocka_unit_test(libxenguest_words),
		cmocka_unit_test(asks_and_answers),
		cmocka_unit_test(no_answerer),
		cmocka_unit_test(child_crashes),
		cmocka_unit_test(child_interrupted),
		cmocka_unit_test(child_exits),
	};

	return cmocka_run_group_tests_name("xen_helper", tests, NULL, NULL);
}
