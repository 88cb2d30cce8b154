EXTRA_DIST += \
	contrib/deepactif_export.py \
	contrib/make-test-fixtures.py
