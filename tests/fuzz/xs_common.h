/*
 * The xenstored harnesses' shared half (xs_common.c): a fresh store per
 * input, four socket connections of different privilege fed from the
 * input, and the store's consistency check (CONTROL check) after each,
 * with each connection's counts and quotas.
 *
 * Input: a sequence of operations, each one byte op followed by its data:
 *   op & 3         the connection: 0 dom0 (privileged), 1 domain 1 and
 *                  2 domain 7 (unprivileged), 3 a second dom0 connection
 *   (op >> 2) & 7  0-5: feed the next LEN bytes to it, LEN the following
 *                  two bytes (little-endian), cut at what is left;
 *                  6: its peer goes away (drop mode; wire mode drains);
 *                  7: flush every connection and reap the dead ones
 * A connection that died and was reaped is opened afresh on its next feed.
 */
#ifndef ENSO_FUZZ_XS_COMMON_H
#define ENSO_FUZZ_XS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* drop: never read the replies (small socket buffers, so output backs
 * up, pauses and drops), and op 6 closes the client's end. */
int xs_fuzz_init(void);
void xs_fuzz_one(const uint8_t *data, size_t size, bool drop);

#endif
