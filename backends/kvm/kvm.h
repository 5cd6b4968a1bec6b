/*
 * The KVM backend's internals: acceleration probe, QMP client, QEMU
 * command line.  Not installed.
 */
#ifndef ENSO_BACKENDS_KVM_H
#define ENSO_BACKENDS_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvm_accel {
	bool kvm;		/* false: QEMU's TCG */
	char why[160];		/* said once to the user, and by xl info */
};

/* Always returns 0 and fills out; out->kvm says whether KVM works. */
int kvm_probe(struct kvm_accel *out);



/* ---- QMP client (qmp.c) ---- */
#include <yajl/yajl_tree.h>

struct qmp;

/* Connects (retrying while QEMU starts) and negotiates capabilities. */
int qmp_connect(const char *path, int timeout_ms, struct qmp **out,
		char *err, size_t errlen);
/* Runs cmd with optional JSON arguments; *ret (if given) is the whole
 * reply, freed by the caller with yajl_tree_free.  Events read meanwhile
 * are kept for qmp_next_event. */
int qmp_command(struct qmp *q, const char *cmd, const char *args_json,
		int timeout_ms, yajl_val *ret, char *err, size_t errlen);
yajl_val qmp_next_event(struct qmp *q, int timeout_ms, int *rc);
const char *qmp_event_name(yajl_val ev);
int qmp_fd(const struct qmp *q);
void qmp_close(struct qmp *q);
#endif
