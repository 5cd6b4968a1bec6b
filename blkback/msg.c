/*
 * blkback/msg.c: the messages between the daemon and a device's worker
 * (private.h).  One message a SOCK_SEQPACKET packet, so that a packet is
 * read whole or not at all; every packet is checked against its type's
 * fixed size before its body is used, on both sides.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "blkback/private.h"

_Static_assert(sizeof(struct blk_msg_connect) >= sizeof(struct blk_msg_error),
	       "blk_msg_recv's buffer holds the largest body");

long blk_msg_size(uint32_t type)
{
	switch (type) {
	case BLK_MSG_CONNECT:
		return sizeof(struct blk_msg_connect);
	case BLK_MSG_DISCONNECT:
	case BLK_MSG_CONNECTED:
		return 0;
	case BLK_MSG_FAILED:
	case BLK_MSG_BROKEN:
		return sizeof(struct blk_msg_error);
	default:
		return -1;
	}
}

int blk_msg_send(int sock, uint32_t type, const void *body)
{
	union {
		struct blk_msg_hdr h;
		unsigned char raw[sizeof(struct blk_msg_hdr) +
				  sizeof(struct blk_msg_connect) +
				  sizeof(struct blk_msg_error)];
	} m;
	long size = blk_msg_size(type);
	size_t len;

	if (size < 0)
		return -EINVAL;
	m.h = (struct blk_msg_hdr){ type, (uint32_t)size };
	if (size)
		memcpy(m.raw + sizeof(m.h), body, (size_t)size);
	len = sizeof(m.h) + (size_t)size;
	/* MSG_NOSIGNAL: a peer that died is an error here, not a SIGPIPE. */
	if (send(sock, m.raw, len, MSG_NOSIGNAL) != (ssize_t)len)
		return errno ? -errno : -EIO;
	return 0;
}

int blk_msg_send_error(int sock, uint32_t type, int err, const char *text)
{
	struct blk_msg_error e = { .err = err };

	snprintf(e.text, sizeof(e.text), "%s", text);
	return blk_msg_send(sock, type, &e);
}

int blk_msg_recv(int sock, void *body, size_t room, bool nonblock)
{
	unsigned char raw[sizeof(struct blk_msg_hdr) +
			  sizeof(struct blk_msg_connect) + 1];
	struct blk_msg_hdr h;
	ssize_t n;
	long size;

	/* One more byte than the largest: a longer packet shows as such
	 * (MSG_TRUNC gives its real length). */
	n = recv(sock, raw, sizeof(raw), MSG_TRUNC | (nonblock ? MSG_DONTWAIT : 0));
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		return 0;
	if ((size_t)n < sizeof(h))
		return -EBADMSG;
	memcpy(&h, raw, sizeof(h));
	size = blk_msg_size(h.type);
	if (size < 0 || h.len != (uint64_t)size ||
	    (size_t)n != sizeof(h) + (size_t)size || (size_t)size > room)
		return -EBADMSG;
	memcpy(body, raw + sizeof(h), (size_t)size);
	if (h.type == BLK_MSG_FAILED || h.type == BLK_MSG_BROKEN) {
		struct blk_msg_error *e = body;

		if (!memchr(e->text, '\0', sizeof(e->text)) || e->err >= 0)
			return -EBADMSG;
	}
	return (int)h.type;
}
