bin_PROGRAMS += daemon/deepactifctl

daemon_deepactifctl_SOURCES = \
	daemon/ctl.c
daemon_deepactifctl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
daemon_deepactifctl_LDADD = lib/libdeepactif.la $(JSONC_LIBS) -lm
