/*
 * bench/migrate/gap: the longest pause in a guest's console output, as it
 * arrives in the console's files on the host, across a migration.
 *
 *   gap FILE...
 *
 * Watches each FILE (which may not exist yet: its directory is watched)
 * for writes, stamping each with the host's monotonic clock, until SIGINT
 * or SIGTERM; then prints
 *
 *   gap max_ms M writes N span_ms S from_ms F
 *
 * M: the longest time between two consecutive writes to any of the files
 * (from the first write on).  The guest writes every 10 ms of its own
 * time (bench/migrate/guest), so M is the migration's pause as the
 * guest's users see it, to within that.  F: when that pause began (the
 * host's monotonic clock, ms, as xl migrate --debug prints its steps).
 */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILES 8

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	char names[MAX_FILES][256], buf[64 * 1024];
	int wd[MAX_FILES], fd, i, n = argc - 1;
	double first = -1, last = -1, max = 0, max_from = 0;
	unsigned long writes = 0;
	struct sigaction sa;

	if (n < 1 || n > MAX_FILES) {
		fprintf(stderr, "usage: gap FILE... (at most %d)\n", MAX_FILES);
		return 2;
	}
	fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0) {
		perror("gap: inotify_init1");
		return 1;
	}
	for (i = 0; i < n; i++) {
		char dir[4096], base[4096];

		snprintf(dir, sizeof(dir), "%s", argv[i + 1]);
		snprintf(base, sizeof(base), "%s", argv[i + 1]);
		snprintf(names[i], sizeof(names[i]), "%s", basename(base));
		wd[i] = inotify_add_watch(fd, dirname(dir), IN_MODIFY);
		if (wd[i] < 0) {
			fprintf(stderr, "gap: watching %s: %s\n", dir, strerror(errno));
			return 1;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop) {
		ssize_t len = read(fd, buf, sizeof(buf));
		char *p;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			perror("gap: read");
			return 1;
		}
		for (p = buf; p < buf + len;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			for (i = 0; i < n; i++) {
				double t;

				if (ev->wd != wd[i] || !ev->len ||
				    strcmp(ev->name, names[i]))
					continue;
				t = now_ms();
				if (first < 0)
					first = t;
				else if (t - last > max) {
					max = t - last;
					max_from = last;
				}
				last = t;
				writes++;
			}
		}
	}
	printf("gap max_ms %.1f writes %lu span_ms %.0f from_ms %.0f\n", max,
	       writes, first < 0 ? 0 : last - first, max_from);
	return 0;
}
