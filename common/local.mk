# Code deepactifd and deepactifctl both need, written once: logging, the
# D-Bus/varlink names, gettext and json-c helpers. Not installed and not part
# of libdeepactif's exported symbols.
noinst_LTLIBRARIES += common/libcommon.la
common_libcommon_la_SOURCES = \
	common/log.h \
	common/log.c \
	common/names.h \
	common/i18n.h \
	common/json-util.h \
	common/list.h
