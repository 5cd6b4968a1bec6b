/*
 * xl console: the guest's console pty.  With a terminal on stdin, both
 * ways in raw mode until Ctrl-] (0x1d); without one, the console's output
 * to stdout until killed, so scripts can read a console.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "xl/xl.h"

#define ESCAPE_CHAR 0x1d	/* Ctrl-] */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void make_raw(int fd, struct termios *old)
{
	struct termios t = *old;

	cfmakeraw(&t);
	tcsetattr(fd, TCSANOW, &t);
}

int xl_console_attach(struct enso_ctx *ctx, uint32_t domid)
{
	struct enso_error err = { "" };
	bool interactive = isatty(0);
	struct termios saved, tty_t;
	char *path = NULL, buf[4096];
	int fd, i, rc = 0;

	/* The pty appears as the emulator starts: give it a moment. */
	for (i = 0; i < 50 && enso_domain_console_tty(ctx, domid, &path, &err); i++)
		usleep(100000);
	if (!path) {
		fprintf(stderr, "xl: console: %s\n", err.msg);
		return 1;
	}
	fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "xl: console: cannot open %s: %s\n", path,
			strerror(errno));
		free(path);
		return 1;
	}
	free(path);
	/* The guest side wants bytes as they are. */
	if (tcgetattr(fd, &tty_t) == 0) {
		cfmakeraw(&tty_t);
		tcsetattr(fd, TCSANOW, &tty_t);
	}
	if (interactive) {
		tcgetattr(0, &saved);
		make_raw(0, &saved);
	}
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = 0, .events = POLLIN },
		};
		ssize_t n;

		if (poll(p, interactive ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				break;	/* the domain is gone */
			if (write_all(1, buf, (size_t)n))
				break;
		}
		if (interactive && (p[1].revents & POLLIN)) {
			n = read(0, buf, sizeof(buf));
			if (n <= 0)
				break;
			if (memchr(buf, ESCAPE_CHAR, (size_t)n)) {
				char *esc = memchr(buf, ESCAPE_CHAR, (size_t)n);

				write_all(fd, buf, (size_t)(esc - buf));
				break;
			}
			if (write_all(fd, buf, (size_t)n)) {
				rc = 1;
				break;
			}
		}
	}
	if (interactive) {
		tcsetattr(0, TCSANOW, &saved);
		fputs("\r\n", stdout);
	}
	close(fd);
	return rc;
}

int main_console(int argc, char **argv)
{
	struct enso_ctx *ctx;
	uint32_t domid;
	int opt, rc = 1;

	while ((opt = xl_getopt(argc, argv, "+ht:n:", "console")) != -1) {
		if (opt == 't') {
			if (strcmp(optarg, "pv") && strcmp(optarg, "serial")) {
				fprintf(stderr, "xl: console type must be pv or serial\n");
				return 1;
			}
		} else if (opt == 'n') {
			if (strcmp(optarg, "0")) {
				fprintf(stderr, "xl: only console 0 exists\n");
				return 1;
			}
		} else {
			return opt == 'h' ? 0 : 1;
		}
	}
	if (optind != argc - 1) {
		xl_usage_of("console");
		return 1;
	}
	ctx = xl_open();
	if (!ctx)
		return 1;
	if (xl_domid(ctx, argv[optind], &domid) == 0)
		rc = xl_console_attach(ctx, domid);
	enso_ctx_close(ctx);
	return rc;
}
