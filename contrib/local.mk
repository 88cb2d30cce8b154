EXTRA_DIST += \
	contrib/deepactif_export.py \
	contrib/grafana-deepactif.json \
	contrib/make-test-fixtures.py

# The Robust Vision recordings (CC BY 4.0, credit in their README), the demo
# sample and the default model, installed under $(pkgdatadir).
robustvisiondir = $(pkgdatadir)/data/robustvision
dist_robustvision_DATA = \
	contrib/data/robustvision/README.md \
	contrib/data/robustvision/LICENSE.CC-BY-4.0.txt \
	contrib/data/robustvision/P1.tsv.gz \
	contrib/data/robustvision/P2.tsv.gz \
	contrib/data/robustvision/P3.tsv.gz \
	contrib/data/robustvision/P4.tsv.gz \
	contrib/data/robustvision/P5.tsv.gz \
	contrib/data/robustvision/P6.tsv.gz \
	contrib/data/robustvision/P7.tsv.gz \
	contrib/data/robustvision/P8.tsv.gz \
	contrib/data/robustvision/P9.tsv.gz \
	contrib/data/robustvision/P10.tsv.gz \
	contrib/data/robustvision/P11.tsv.gz \
	contrib/data/robustvision/P12.tsv.gz \
	contrib/data/robustvision/P13.tsv.gz \
	contrib/data/robustvision/P14.tsv.gz \
	contrib/data/robustvision/P15.tsv.gz \
	contrib/data/robustvision/P16.tsv.gz \
	contrib/data/robustvision/P17.tsv.gz \
	contrib/data/robustvision/P18.tsv.gz \
	contrib/data/robustvision/P19.tsv.gz \
	contrib/data/robustvision/P20.tsv.gz
sampledatadir = $(pkgdatadir)/data
dist_sampledata_DATA = contrib/data/README.md contrib/data/sample.tsv.gz
modelsdir = $(pkgdatadir)/models
dist_models_DATA = contrib/models/README.md contrib/models/foval-robustvision.safetensors
EXTRA_DIST += contrib/models/foval-robustvision.sh contrib/loso.sh contrib/depth-bound.py

# The keep-top-k results document and the script that regenerates it.
EXTRA_DIST += \
	contrib/make-results.sh \
	contrib/published-steps.sh \
	docs/results-robustvision.md \
	docs/results-robustvision-quick.json \
	docs/results-robustvision-quick.svg \
	docs/results-robustvision-quick-published.json \
	docs/results-robustvision-quick-published.svg \
	docs/results-robustvision-paper.json \
	docs/results-robustvision-paper.svg \
	docs/results-robustvision-paper-published.json \
	docs/results-robustvision-paper-published.svg

# Shell completion for deepactifctl, named as bash-completion and zsh look
# them up; directories from configure.
dist_bashcompletion_DATA = contrib/completion/deepactifctl
dist_zshcompletion_DATA = contrib/completion/_deepactifctl

# Debian packaging (copied to debian/ to build) and the RPM spec; see
# tests/test-packages.sh, run by 'make check-packages'.
EXTRA_DIST += contrib/debian contrib/deepactif.spec
