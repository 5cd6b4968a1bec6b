/*
 * A raw xenstore client for the host tests (rawxs.c): frames sent and read
 * by hand over the daemon's unix socket, so a test can send what no library
 * would.  The socket path is sock_path (the tests take it from
 * XENSTORED_PATH).  Every check prints one line, "ok - NAME" or
 * "not ok - NAME: WHY", and counts it in n_pass / n_fail.
 */
#ifndef TESTS_HOST_RAWXS_H
#define TESTS_HOST_RAWXS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/io/xs_wire.h>

#define REPLY_MS 3000		/* a reply must come by then */

extern unsigned int n_pass, n_fail;
extern const char *sock_path;
extern uint32_t next_req;	/* req_id of the next roundtrip() */

struct msg {
	struct xsd_sockmsg h;
	char body[XENSTORE_PAYLOAD_MAX + 1];	/* always NUL-terminated */
};

bool check_result(bool cond, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The condition is evaluated before the message arguments, so that a message
 * may show the errno left by a call made in the condition. */
#define check(cond, ...)                                                \
	({                                                              \
		bool check_cond_ = (cond);                              \
		check_result(check_cond_, __VA_ARGS__);                 \
	})

long now_ms(void);
/* A printable rendering of a payload (one of four rotating buffers). */
const char *show(const char *p, size_t len);
const char *type_name(uint32_t t);

/* A connected socket, or -1 (said on stderr). */
int sock_open(void);
/* A connection turned into unprivileged domid by CONTROL "restrict". */
int sock_restricted(unsigned int domid);
bool send_raw(int fd, const void *p, size_t len);
bool send_msg(int fd, uint32_t type, uint32_t req, uint32_t tx,
	      const void *body, size_t len);
/* Reads exactly len bytes by the deadline: 1 done, 0 EOF, -1 timeout,
 * -2 error. */
int read_exact(int fd, void *p, size_t len, long deadline);
/* Next message (recv_msg) or next non-event message (recv_reply), with
 * read_exact's results; rstr() says one in words. */
int recv_msg(int fd, struct msg *m, int ms);
int recv_reply(int fd, struct msg *m, int ms);
const char *rstr(int r);
/* Sends one request (req_id from next_req) and waits for its reply. */
int roundtrip(int fd, uint32_t type, uint32_t tx, const void *body,
	      size_t len, struct msg *m, uint32_t *req_out);
/* Builds "s1\0s2\0..." from a NULL-terminated list; returns its length. */
size_t strs(char *buf, size_t cap, ...);
/* WRITE's body: path\0value (value without its NUL). */
size_t write_body(char *buf, size_t cap, const char *path, const char *val);

/* Each sends one request and fills why (wl bytes) when the reply is not
 * the one named: ERROR "<err>", a reply of the request's type, or "OK". */
bool expect_error(int fd, uint32_t type, uint32_t tx, const void *body,
		  size_t len, const char *err, char *why, size_t wl);
bool expect_reply(int fd, uint32_t type, uint32_t tx, const void *body,
		  size_t len, struct msg *m, char *why, size_t wl);
bool expect_ok(int fd, uint32_t type, uint32_t tx, const void *body,
	       size_t len, char *why, size_t wl);

/* TRANSACTION_START: the id, or 0.  TRANSACTION_END: "OK", the error's
 * name, or why there was no answer (a static buffer). */
uint32_t txn_start(int fd);
const char *txn_end(int fd, uint32_t tx, bool commit);

/* True once the daemon closes fd, within ms. */
bool wait_eof(int fd, int ms);

#endif
