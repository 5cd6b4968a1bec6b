/*
 * hotplug/'s internals: the netlink socket and error helpers its files
 * share.  Not installed.
 */
#ifndef ENSO_HOTPLUG_PRIVATE_H
#define ENSO_HOTPLUG_PRIVATE_H

#include <stddef.h>

struct nl_sock;
struct rtnl_link;

/* A connected NETLINK_ROUTE socket, or NULL with *rc set. */
struct nl_sock *hp_nl_open(int *rc);
/* The same for work on the link name: the name checked first; a failure
 * said in msg. */
struct nl_sock *hp_nl_open_for(const char *name, int *rc, char *msg,
			       size_t msglen);
void hp_nl_close(struct nl_sock *sk);
/* libnl's NLE_* error as a negative errno. */
int hp_nl_errno(int nle);
/* The kernel's view of the link called name (*out to rtnl_link_put). */
int hp_link_get(struct nl_sock *sk, const char *name, struct rtnl_link **out);
/* Fills msg (may be NULL) with "what: strerror(-rc)" and returns rc. */
int hp_fail(char *msg, size_t msglen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The name fits IFNAMSIZ: 0 or -ENAMETOOLONG/-EINVAL, msg filled. */
int hp_check_name(const char *name, char *msg, size_t msglen);

#endif
