/*
 * What the KVM backend reads out of QMP replies, as pure functions of the
 * parsed reply, so that tests and the fuzz harness reach them without a
 * QEMU.  A QEMU may be its guest's: nothing here trusts a number it reads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "enso/libxl.h"
#include "kvm.h"

yajl_val kvm_jget(yajl_val v, const char *a, const char *b)
{
	const char *path[] = { a, b, NULL };

	return v ? yajl_tree_get(v, path, yajl_t_any) : NULL;
}

const char *kvm_jstr(yajl_val v)
{
	return v && YAJL_IS_STRING(v) ? v->u.string : NULL;
}

int kvm_vcpu_threads_parse(yajl_val cpus, yajl_val slots,
			   struct vcpu_threads *t)
{
	yajl_val a = kvm_jget(cpus, "return", NULL);
	yajl_val s = kvm_jget(slots, "return", NULL);
	uint32_t i, j, n = 0;

	memset(t, 0, sizeof(*t));
	if (!a || !YAJL_IS_ARRAY(a))
		return -EPROTO;
	/* Every slot, plugged or not; without the command, the plugged.
	 * No more than a domain can have: an index past that is a lie,
	 * and left out (it would size, and index, the table). */
	if (s && YAJL_IS_ARRAY(s))
		n = s->u.array.len < ENSO_MAX_CPUS ? (uint32_t)s->u.array.len
						   : ENSO_MAX_CPUS;
	for (i = 0; i < a->u.array.len; i++) {
		yajl_val idx = kvm_jget(a->u.array.values[i], "cpu-index", NULL);

		if (idx && YAJL_IS_INTEGER(idx) && YAJL_GET_INTEGER(idx) >= n &&
		    YAJL_GET_INTEGER(idx) < ENSO_MAX_CPUS)
			n = (uint32_t)YAJL_GET_INTEGER(idx) + 1;
	}
	t->tid = calloc(n ? n : 1, sizeof(*t->tid));
	if (!t->tid)
		return -ENOMEM;
	t->n = n;
	for (i = 0; i < a->u.array.len; i++) {
		yajl_val idx = kvm_jget(a->u.array.values[i], "cpu-index", NULL);
		yajl_val tid = kvm_jget(a->u.array.values[i], "thread-id", NULL);

		if (!idx || !YAJL_IS_INTEGER(idx) || !tid ||
		    !YAJL_IS_INTEGER(tid) || YAJL_GET_INTEGER(idx) < 0 ||
		    YAJL_GET_INTEGER(idx) >= n || YAJL_GET_INTEGER(tid) <= 0 ||
		    YAJL_GET_INTEGER(tid) > INT32_MAX)
			continue;
		t->tid[YAJL_GET_INTEGER(idx)] = (pid_t)YAJL_GET_INTEGER(tid);
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; t->tid[i] && j < n; j++)
			t->shared |= t->tid[i] == t->tid[j];
	return 0;
}
