/*
 * The bytes of xl migrate's conversation: exact reads and writes on the
 * pipes (or socket) to the other end, through util's fd_read_full and
 * fd_write_full (which wait on the non-blocking descriptors QEMU leaves
 * behind), said in upstream's words when they fail.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "enso-util.h"
#include "xl/xl.h"

int xl_read_exact(int fd, void *buf, size_t len, const char *stream,
		  const char *what)
{
	int r = fd_read_full(fd, buf, len);

	if (r == 0)
		fprintf(stderr, "xl: %s: file/stream truncated reading %s\n",
			stream, what);
	else if (r < 0)
		fprintf(stderr, "xl: %s: failure reading %s: %s\n", stream,
			what, strerror(-r));
	return r == 1 ? 0 : -1;
}

int xl_write_exact(int fd, const void *buf, size_t len, const char *stream,
		   const char *what)
{
	int r = fd_write_full(fd, buf, len);

	if (r < 0)
		fprintf(stderr, "xl: %s: failure writing %s: %s\n", stream,
			what, strerror(-r));
	return r < 0 ? -1 : 0;
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

void xl_drain(int fd, int ms)
{
	long long end = monotonic_ms() + ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[4096];

	while (monotonic_ms() < end &&
	       poll(&p, 1, (int)(end - monotonic_ms())) > 0 &&
	       read(fd, buf, sizeof(buf)) > 0)
		;
}
