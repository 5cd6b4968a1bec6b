/*
 * Shared scaffolding for the xenstored unit tests: a fixture that builds a
 * fresh store per test, connections over socketpairs, and a small client
 * that speaks the wire protocol to conn_process_input() and reads the
 * replies back from the other end of the socketpair.
 */
#ifndef ENSO_TESTS_UNIT_H
#define ENSO_TESTS_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include "core.h"

/* One test connection: the daemon's end (c) and the client's end (peer). */
struct tconn {
	struct conn *c;
	int peer;
	uint32_t next_req;
};

/* A message read back from the daemon. */
struct tmsg {
	struct xsd_sockmsg hdr;
	char body[XENSTORE_PAYLOAD_MAX + 1];	/* NUL added after hdr.len */
};

/* cmocka group fixtures (per test). */
int unit_setup(void **state);
int unit_teardown(void **state);

/* A connection as dom0 (privileged) or as an unprivileged domain. */
struct tconn *tc_new(uint32_t domid, bool privileged);

/* Appends raw bytes to the connection's input, runs the parser and flushes
 * the replies onto the socket. */
void tc_feed(struct tconn *t, const void *data, size_t len);
/* Sends one message (header + payload). */
void tc_send(struct tconn *t, uint32_t type, uint32_t req_id, uint32_t tx_id,
	     const void *payload, uint32_t len);
/* Reads one message if one is waiting; false if none is. */
bool tc_recv(struct tconn *t, struct tmsg *m);
/* Reads and drops everything waiting; returns how many messages. */
int tc_drain(struct tconn *t);

/* Sends a request and reads its reply (watch events queued before the
 * reply are skipped and counted in *events if given).  Returns 0 if the
 * reply has the request's type, else -errno of the ERROR reply. */
int tc_call(struct tconn *t, uint32_t type, uint32_t tx_id,
	    const void *payload, uint32_t len, struct tmsg *reply);
/* Convenience requests over the wire. */
int tc_write(struct tconn *t, uint32_t tx_id, const char *path,
	     const char *value);
int tc_read(struct tconn *t, uint32_t tx_id, const char *path, char *out,
	    size_t outsz);
int tc_rm(struct tconn *t, uint32_t tx_id, const char *path);
int tc_watch(struct tconn *t, const char *path, const char *token);
int tc_txn_start(struct tconn *t, uint32_t *tx_id);
int tc_txn_end(struct tconn *t, uint32_t tx_id, bool commit);
int tc_set_perms(struct tconn *t, uint32_t tx_id, const char *path,
		 const char *perms, size_t perms_len);

/* Collects waiting WATCH_EVENTs as "path|token" strings joined by ';'
 * into out, in arrival order; returns their count.  Any non-event message
 * fails the test. */
int tc_events(struct tconn *t, char *out, size_t outsz);

/* Maps an error name ("EINVAL") to its errno, 0 if unknown. */
int unit_errno_of(const char *name);

/* Direct-store helpers: creates path (parents must exist) with the value
 * and the given single owner entry; returns the node. */
struct node *mknode(const char *path, const char *value, uint32_t owner,
		    uint32_t other_mode);

/* Fails the test with what store_check() found, if anything. */
void unit_assert_tree_ok(void);

#define UNIT_TEST(f) cmocka_unit_test_setup_teardown(f, unit_setup, unit_teardown)

#endif
