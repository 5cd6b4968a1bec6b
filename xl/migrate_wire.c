/*
 * The bytes of xl migrate's conversation: exact reads and writes on the
 * pipes (or socket) to the other end.  QEMU shares these descriptors for
 * the stream and leaves them non-blocking: a read or write that would
 * block waits here instead of failing.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "xl/xl.h"

static int wait_for(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };

	return poll(&p, 1, -1) < 0 && errno != EINTR ? -1 : 0;
}

int xl_read_exact(int fd, void *buf, size_t len, const char *stream,
		  const char *what)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n == 0) {
			fprintf(stderr, "xl: %s: file/stream truncated reading %s\n",
				stream, what);
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && wait_for(fd, POLLIN) == 0)
				continue;
			fprintf(stderr, "xl: %s: failure reading %s: %s\n",
				stream, what, strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int xl_write_exact(int fd, const void *buf, size_t len, const char *stream,
		   const char *what)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && wait_for(fd, POLLOUT) == 0)
				continue;
			fprintf(stderr, "xl: %s: failure writing %s: %s\n",
				stream, what, strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int xl_read_message(int fd, const char *msg, size_t len, const char *what,
		    const char *rune)
{
	const char *stream = rune ? "migration receiver stream" :
				    "migration stream";
	char buf[128];

	if (len > sizeof(buf) || xl_read_exact(fd, buf, len, stream, what))
		return -1;
	if (memcmp(buf, msg, len)) {
		fprintf(stderr, "%s contained unexpected data instead of %s\n",
			stream, what);
		if (rune)
			fprintf(stderr, "(command run was: %s )\n", rune);
		return -1;
	}
	return 0;
}
