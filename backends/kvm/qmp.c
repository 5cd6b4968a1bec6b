/*
 * A QMP client: QEMU's JSON monitor on a unix socket.  One JSON object per
 * line each way.  Commands carry an id and wait, with a deadline, for the
 * reply with that id; events that arrive meanwhile are queued for the
 * caller, who reads them with qmp_next_event (and may poll qmp_fd).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "enso-util.h"
#include "kvm.h"

struct qmp_event {
	struct qmp_event *next;
	yajl_val v;
};

/* The read buffer starts small and grows for a long reply up to
 * QMP_MSG_MAX; the host's monitor holds one connection per domain, whose
 * events are small, so a buffer of fixed size would be most of what a
 * domain costs it. */
#define QMP_BUF_START 2048
#define QMP_MSG_MAX (1024 * 1024)
/* QEMU's events are a few hundred bytes: a longer one is not kept. */
#define QMP_EVENT_MAX 4096
/* Deeper than any reply QEMU sends; yajl frees a tree recursively. */
#define QMP_DEPTH_MAX 64

struct qmp {
	int fd;
	char *buf;
	size_t len, cap;
	unsigned next_id;
	struct qmp_event *events, **events_tail;
	unsigned nevents;
};


int qmp_fd(const struct qmp *q)
{
	return q->fd;
}

static int send_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one line (one JSON object), waiting until deadline (ms, absolute;
 * -1 forever, 0 no wait).  Returns 1 with *out, 0 on timeout, <0 on error. */
static int read_message(struct qmp *q, long long deadline, yajl_val *out,
			size_t *line_len)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
		int wait, r;
		ssize_t n;

		if (nl) {
			char errbuf[128];

			*nl = '\0';
			if (line_len)
				*line_len = (size_t)(nl - q->buf);
			*out = json_too_deep(q->buf, QMP_DEPTH_MAX) ? NULL :
			       yajl_tree_parse(q->buf, errbuf, sizeof(errbuf));
			q->len -= (size_t)(nl + 1 - q->buf);
			memmove(q->buf, nl + 1, q->len);
			if (q->cap > QMP_BUF_START && q->len < QMP_BUF_START) {
				char *smaller = realloc(q->buf, QMP_BUF_START);

				if (smaller) {
					q->buf = smaller;
					q->cap = QMP_BUF_START;
				}
			}
			if (!*out)
				return -EPROTO;
			return 1;
		}
		if (q->len == q->cap) {
			char *bigger;

			if (q->cap >= QMP_MSG_MAX)
				return -E2BIG;
			bigger = realloc(q->buf, q->cap * 2);
			if (!bigger)
				return -ENOMEM;
			q->buf = bigger;
			q->cap *= 2;
		}
		if (deadline < 0)
			wait = -1;
		else {
			long long left = deadline - monotonic_ms();

			wait = left > 0 ? (int)left : 0;
		}
		r = poll(&pfd, 1, wait);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == 0)
			return 0;
		if (r < 0)
			continue;
		n = recv(q->fd, q->buf + q->len, q->cap - q->len, 0);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		q->len += (size_t)n;
	}
}

static yajl_val field(yajl_val obj, const char *name)
{
	const char *path[] = { name, NULL };

	return obj ? yajl_tree_get(obj, path, yajl_t_any) : NULL;
}

/* Keeps an event for qmp_next_event: at most QMP_EVENTS_MAX of them, of
 * QMP_EVENT_MAX bytes each, so a QEMU that floods its monitor costs us
 * bounded memory (the newest are lost). */
static void queue_event(struct qmp *q, yajl_val v, size_t len)
{
	struct qmp_event *e;

	if (q->nevents >= QMP_EVENTS_MAX || len > QMP_EVENT_MAX ||
	    !(e = calloc(1, sizeof(*e)))) {
		yajl_tree_free(v);
		return;
	}
	e->v = v;
	*q->events_tail = e;
	q->events_tail = &e->next;
	q->nevents++;
}

/* The command's first byte carries fd (SCM_RIGHTS), QEMU's way of taking
 * a descriptor (getfd); the rest goes as any command does. */
static int send_with_fd(int sock, const char *s, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)s, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return send_all(sock, s + 1, len - 1);
}

int qmp_command(struct qmp *q, const char *cmd, const char *args_json,
		int timeout_ms, yajl_val *ret, char *err, size_t errlen)
{
	return qmp_command_fd(q, cmd, args_json, -1, timeout_ms, ret, err,
			      errlen);
}

int qmp_command_fd(struct qmp *q, const char *cmd, const char *args_json,
		   int fd, int timeout_ms, yajl_val *ret, char *err,
		   size_t errlen)
{
	long long deadline = monotonic_ms() + timeout_ms;
	unsigned id = ++q->next_id;
	char *line = NULL;
	int len, rc;

	if (ret)
		*ret = NULL;
	len = asprintf(&line, "{\"execute\":\"%s\"%s%s,\"id\":%u}\n", cmd,
		       args_json ? ",\"arguments\":" : "",
		       args_json ? args_json : "", id);
	if (len < 0)
		return -ENOMEM;
	rc = fd >= 0 ? send_with_fd(q->fd, line, (size_t)len, fd) :
		       send_all(q->fd, line, (size_t)len);
	free(line);
	if (rc) {
		snprintf(err, errlen, "sending %s: %s", cmd, strerror(-rc));
		return rc;
	}
	for (;;) {
		yajl_val v, vid;
		size_t vlen;

		/* A QEMU that never stops talking must not hold us past the
		 * deadline: read_message waits for nothing while data flows. */
		rc = monotonic_ms() >= deadline ? 0 : read_message(q, deadline, &v, &vlen);
		if (rc == 0) {
			snprintf(err, errlen, "%s: no reply from QEMU in %d ms",
				 cmd, timeout_ms);
			return -ETIMEDOUT;
		}
		if (rc < 0) {
			snprintf(err, errlen, "%s: %s", cmd, strerror(-rc));
			return rc;
		}
		if (field(v, "event")) {
			queue_event(q, v, vlen);
			continue;
		}
		vid = field(v, "id");
		if (!vid || !YAJL_IS_INTEGER(vid) ||
		    YAJL_GET_INTEGER(vid) != (long long)id) {
			yajl_tree_free(v);	/* a stale reply */
			continue;
		}
		if (field(v, "error")) {
			const char *path[] = { "error", "desc", NULL };
			yajl_val desc = yajl_tree_get(v, path, yajl_t_string);

			snprintf(err, errlen, "%s: %s", cmd,
				 desc ? YAJL_GET_STRING(desc) : "error");
			yajl_tree_free(v);
			return -EIO;
		}
		if (ret)
			*ret = v;
		else
			yajl_tree_free(v);
		return 0;
	}
}

int qmp_open_fd(int fd, int timeout_ms, struct qmp **out, char *err,
		size_t errlen)
{
	long long deadline = monotonic_ms() + timeout_ms;
	struct qmp *q = calloc(1, sizeof(*q));
	yajl_val greeting;
	int rc;

	if (q)
		q->buf = malloc(QMP_BUF_START);
	if (!q || !q->buf) {
		free(q);
		snprintf(err, errlen, "QMP: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	q->fd = fd;
	q->cap = QMP_BUF_START;
	q->events_tail = &q->events;
	rc = read_message(q, deadline, &greeting, NULL);
	if (rc <= 0 || !field(greeting, "QMP")) {
		if (rc > 0)
			yajl_tree_free(greeting);
		snprintf(err, errlen, "no QMP greeting");
		rc = rc < 0 ? rc : -EPROTO;
		goto fail;
	}
	yajl_tree_free(greeting);
	rc = qmp_command(q, "qmp_capabilities", NULL,
			 (int)(deadline - monotonic_ms() > 1000 ? deadline - monotonic_ms() : 1000),
			 NULL, err, errlen);
	if (rc)
		goto fail;
	*out = q;
	return 0;
fail:
	q->fd = -1;	/* the caller's still */
	qmp_close(q);
	return rc;
}

int qmp_connect(const char *path, int timeout_ms, struct qmp **out,
		char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline = monotonic_ms() + timeout_ms;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "QMP socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	/* QEMU creates the socket as it starts: retry until the deadline. */
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			rc = -errno;
			snprintf(err, errlen, "QMP: %s", strerror(-rc));
			return rc;
		}
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		rc = -errno;
		close(fd);
		if (monotonic_ms() >= deadline) {
			snprintf(err, errlen, "connecting to QMP at %s: %s", path,
				 strerror(-rc));
			return rc;
		}
		usleep(20000);
	}
	rc = qmp_open_fd(fd, (int)(deadline - monotonic_ms() > 0 ? deadline - monotonic_ms() : 0),
			 out, err, errlen);
	if (rc) {
		/* Name the socket, as before. */
		if (!strcmp(err, "no QMP greeting"))
			snprintf(err, errlen, "no QMP greeting on %s", path);
		close(fd);
	}
	return rc;
}

/* Reads what has arrived (waiting up to timeout_ms) and returns the next
 * queued event, or NULL; the caller frees it with yajl_tree_free. */
yajl_val qmp_next_event(struct qmp *q, int timeout_ms, int *rc_out)
{
	long long deadline = timeout_ms < 0 ? -1 : monotonic_ms() + timeout_ms;
	struct qmp_event *e;
	yajl_val v;
	int rc = 0;

	while (!q->events) {
		size_t vlen;

		rc = read_message(q, deadline, &v, &vlen);
		if (rc <= 0)
			break;
		if (field(v, "event"))
			queue_event(q, v, vlen);
		else
			yajl_tree_free(v);
	}
	if (rc_out)
		*rc_out = rc < 0 ? rc : 0;
	e = q->events;
	if (!e)
		return NULL;
	q->events = e->next;
	if (!q->events)
		q->events_tail = &q->events;
	q->nevents--;
	v = e->v;
	free(e);
	return v;
}

const char *qmp_event_name(yajl_val ev)
{
	yajl_val name = field(ev, "event");

	return name && YAJL_IS_STRING(name) ? YAJL_GET_STRING(name) : "";
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	while (q->events) {
		struct qmp_event *e = q->events;

		q->events = e->next;
		yajl_tree_free(e->v);
		free(e);
	}
	if (q->fd >= 0)
		close(q->fd);
	free(q->buf);
	free(q);
}
