#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The forward pass, the batch kernels, the trainer and the attribution methods through
# each kernel variant this CPU can run, not only the one the dispatcher
# would pick (DEEPACTIF_KERNELS forces it).
set -euo pipefail
: "${top_builddir:?run from make check}"
for k in avx2 baseline; do
        if [ "$k" = avx2 ] && ! grep -qw avx2 /proc/cpuinfo; then
                echo "this CPU has no AVX2: skipping that variant"
                continue
        fi
        echo "== DEEPACTIF_KERNELS=$k"
        for t in test-lstm-torch test-precision test-batch-kernels test-backprop test-train test-deeplift test-attribution test-deepactif; do
                DEEPACTIF_KERNELS=$k "$top_builddir/tests/$t"
        done
done
