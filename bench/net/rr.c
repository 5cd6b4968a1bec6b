/*
 * bench/net/rr: a TCP request/response rate, netperf's TCP_RR in small
 * (Debian's netperf is non-free and not in this project's sources).
 *
 *   rr -s PORT                      server: for each connection (one child
 *                                   each), echo back what it reads
 *   rr -c HOST PORT SECS [SIZE]     client: one connection, TCP_NODELAY;
 *                                   send SIZE (1) bytes, read SIZE back,
 *                                   again, for SECS seconds; prints
 *     rr transactions N seconds S per_second R latency_us L
 *
 * Connecting is retried for 10 s (the server may still be starting).
 * Built static by bench/net.sh (gcc -static), so that it runs in the rig's
 * busybox images without libraries.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int full(int fd, char *buf, size_t n, int out)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = out ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static int server(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	signal(SIGCHLD, SIG_IGN);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 16)) {
		perror("rr: listen");
		return 1;
	}
	for (;;) {
		char buf[65536];
		int c = accept(s, NULL, NULL);

		if (c < 0)
			continue;
		if (fork() == 0) {
			ssize_t r;

			close(s);
			setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			while ((r = read(c, buf, sizeof(buf))) > 0)
				if (full(c, buf, (size_t)r, 1))
					break;
			_exit(0);
		}
		close(c);
	}
}

static int client(const char *host, int port, double secs, size_t size)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, s = -1;
	double t0, t, until;
	unsigned long n = 0;
	char *buf;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "rr: %s: not an IPv4 address\n", host);
		return 2;
	}
	buf = calloc(1, size);
	if (!buf)
		return 1;
	until = now() + 10;
	for (;;) {
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		if (s >= 0)
			close(s);
		if (now() > until) {
			perror("rr: connect");
			return 1;
		}
		usleep(200000);
	}
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t0 = now();
	until = t0 + secs;
	do {
		if (full(s, buf, size, 1) || full(s, buf, size, 0)) {
			perror("rr: transaction");
			return 1;
		}
		n++;
	} while ((t = now()) < until);
	close(s);
	printf("rr transactions %lu seconds %.3f per_second %.1f latency_us %.1f\n",
	       n, t - t0, n / (t - t0), (t - t0) * 1e6 / n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "-s"))
		return server(atoi(argv[2]));
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "-c"))
		return client(argv[2], atoi(argv[3]), atof(argv[4]),
			      argc == 6 ? (size_t)atol(argv[5]) : 1);
	fprintf(stderr, "usage: rr -s PORT | rr -c HOST PORT SECS [SIZE]\n");
	return 2;
}
