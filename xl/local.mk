sbin_PROGRAMS += xl/xl
xl_xl_SOURCES = xl/xl.h xl/main.c xl/common.c xl/cmd_create.c \
	xl/cmd_list.c xl/cmd_lifecycle.c xl/cmd_console.c xl/cmd_mem.c xl/cmd_monitor.c \
	xl/cmd_vcpu.c xl/cmd_host.c xl/cmd_sched.c xl/cmd_block.c xl/cmd_network.c xl/cmd_save.c \
	xl/cmd_migrate.c xl/cmd_migrate_receive.c xl/migrate_wire.c
xl_xl_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libxl
xl_xl_LDADD = libxl/libensoxl.la util/libensoutil.la
