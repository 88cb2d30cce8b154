dist_man_MANS += \
	man/deepactif-model.5 \
	man/deepactif-features.7 \
	man/deepactif-attribution.7 \
	man/deepactifctl.1 \
	man/deepactifd.8 \
	man/deepactif-bridge.8 \
	man/deepactifd.conf.5 \
	man/io.deepactif.Daemon1.5
