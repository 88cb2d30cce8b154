# deepactifctl: the client. Daemon commands over D-Bus and varlink, and local
# commands over libdeepactif.
bin_PROGRAMS += client/deepactifctl

client_deepactifctl_SOURCES = \
	client/ctl.h \
	client/ctl.c \
	client/ctl-model.c \
	client/ctl-bench.c \
	client/ctl-rank.c \
	client/ctl-attribute.c \
	client/ctl-train.c \
	client/ctl-evaluate.c \
	client/ctl-daemon.c
# TOP_SRCDIR: `score` falls back to contrib/models/ when the default model is
# not installed yet, so it works from a build tree.
client_deepactifctl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(LIBSYSTEMD_CFLAGS) -DTOP_SRCDIR=\"$(abs_top_srcdir)\"
client_deepactifctl_LDADD = lib/libdeepactif.la common/libcommon.la $(JSONC_LIBS) $(LIBSYSTEMD_LIBS) -lm
