#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The PyTorch fixtures through each kernel variant this CPU can run, not
# only the one the dispatcher would pick (DEEPACTIF_KERNELS forces it).
set -euo pipefail
: "${top_builddir:?run from make check}"
for k in avx2 baseline; do
        if [ "$k" = avx2 ] && ! grep -qw avx2 /proc/cpuinfo; then
                echo "this CPU has no AVX2: skipping that variant"
                continue
        fi
        echo "== DEEPACTIF_KERNELS=$k"
        DEEPACTIF_KERNELS=$k "$top_builddir/tests/test-lstm-torch"
done
