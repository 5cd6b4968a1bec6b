# Benchmarks are built with everything else so the rig can carry them.
bin_PROGRAMS += bench/xsbench
bench_xsbench_SOURCES = bench/xsbench.c
bench_xsbench_CFLAGS = $(AM_CFLAGS) $(XENSTORE_CFLAGS)
bench_xsbench_LDADD = $(XENSTORE_LIBS)
