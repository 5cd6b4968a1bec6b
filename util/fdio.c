/*
 * Whole reads and writes on a descriptor: what every file format reader
 * and writer of Enso (save files, libxl's stream, journals) needs, with a
 * short read at end of file told apart from an error.  A descriptor
 * someone else left non-blocking (QEMU does, on a migration's pipe it
 * shared) is waited on, not failed.
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "enso-util.h"

/* EINTR, or EAGAIN once fd is ready again: go on. */
static bool again(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };

	if (errno == EINTR)
		return true;
	return errno == EAGAIN && (poll(&p, 1, -1) >= 0 || errno == EINTR);
}

int fd_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && again(fd, POLLIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		p += n;
		len -= (size_t)n;
	}
	return 1;
}

int fd_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && again(fd, POLLOUT))
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
