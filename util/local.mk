noinst_LTLIBRARIES += util/libensoutil.la
util_libensoutil_la_SOURCES = util/enso-util.h util/log.c util/evloop.c \
	util/hmap.c util/buf.c util/daemon.c util/json.c util/fdio.c
