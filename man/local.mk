dist_man_MANS += \
	man/deepactif-model.5
