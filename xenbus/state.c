/*
 * xenbus/state.c: the backend's half of the xenbus handshake, as one pure
 * function of the two states (xen/io/xenbus.h; docs/design/xenbus.md has
 * the table).  No store, no engine: core.c reads, asks here, then acts.
 */
#include "xenbus/private.h"

static const char *const names[] = {
	[XENBUS_UNKNOWN] = "Unknown",
	[XENBUS_INITIALISING] = "Initialising",
	[XENBUS_INITWAIT] = "InitWait",
	[XENBUS_INITIALISED] = "Initialised",
	[XENBUS_CONNECTED] = "Connected",
	[XENBUS_CLOSING] = "Closing",
	[XENBUS_CLOSED] = "Closed",
	[XENBUS_RECONFIGURING] = "Reconfiguring",
	[XENBUS_RECONFIGURED] = "Reconfigured",
};

const char *xenbus_state_name(int state)
{
	if (state < 0 || (size_t)state >= ARRAY_SIZE(names))
		return "invalid";
	return names[state];
}

int xenbus_parse_state(const char *text)
{
	unsigned long long v;

	if (!text || parse_uint(text, XENBUS_RECONFIGURED, &v) < 0)
		return XB_FE_GARBAGE;
	return (int)v;
}

static struct xenbus_step step(enum xenbus_act act, int next)
{
	return (struct xenbus_step){ .act = act, .next = next };
}

/* The frontend is gone or closed: let go of it. */
static struct xenbus_step close_down(int be, bool connected)
{
	struct xenbus_step s = step(XB_ACT_NONE, XENBUS_CLOSED);

	if (connected)
		s.act = XB_ACT_DISCONNECT;
	/* Closed is always reached through Closing, as a frontend expects */
	s.via_closing = be != XENBUS_CLOSING && be != XENBUS_CLOSED;
	return s;
}

struct xenbus_step xenbus_next(int be, bool connected, int fe)
{
	switch (fe) {
	case XB_FE_ABSENT:
	case XENBUS_UNKNOWN:
		/* Not written yet (the device is new): wait.  Gone after it
		 * was there (the domain died): close. */
		if (be == XENBUS_INITIALISING || be == XENBUS_INITWAIT)
			return step(XB_ACT_NONE, be);
		return close_down(be, connected);
	case XENBUS_INITIALISING:
	case XENBUS_INITWAIT:
		/* A frontend that starts again (module reload, kexec,
		 * resume): drop what it had, offer the device anew. */
		if (connected)
			return step(XB_ACT_DISCONNECT, XENBUS_INITWAIT);
		if (be == XENBUS_CLOSING || be == XENBUS_CLOSED)
			return step(XB_ACT_NONE, XENBUS_INITWAIT);
		return step(XB_ACT_NONE, be);
	case XENBUS_INITIALISED:
	case XENBUS_CONNECTED:
		if (be == XENBUS_INITWAIT && !connected)
			return step(XB_ACT_CONNECT, XENBUS_CONNECTED);
		/* Connected already; or closed, and a frontend must go
		 * through Initialising to come back. */
		return step(XB_ACT_NONE, be);
	case XENBUS_CLOSING:
		if (be == XENBUS_CLOSED)
			return step(XB_ACT_NONE, be);
		return step(connected ? XB_ACT_DISCONNECT : XB_ACT_NONE,
			    XENBUS_CLOSING);
	case XENBUS_CLOSED:
		return close_down(be, connected);
	default:
		/* Reconfiguring/Reconfigured (no engine here serves them)
		 * and garbage: refuse, closed.  Said once: closed already,
		 * there is nothing more to do (and our own writes of why
		 * must not make us say it again). */
		if (be == XENBUS_CLOSED && !connected)
			return step(XB_ACT_NONE, be);
		return (struct xenbus_step){
			.act = XB_ACT_REJECT,
			.next = XENBUS_CLOSED,
			.via_closing = be != XENBUS_CLOSING &&
				       be != XENBUS_CLOSED,
		};
	}
}
