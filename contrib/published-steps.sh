#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Where the published protocol's all-features error comes from: the paper
# preset's leave-one-subject-out over the shipped Robust Vision subjects
# with all five published steps, then with each left out in turn, then
# clean. Only the all-features model is scored (--methods random --k 10
# adds the cheapest retrain), so it takes about a minute.
#
#   contrib/published-steps.sh [BUILDDIR] [EXTRA EVALUATE OPTIONS...]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top}
[ $# -gt 0 ] && shift
ctl=$build/client/deepactifctl
data=$top/contrib/data/robustvision
steps=(iqr-filter depth-bins subject-scaler best-epoch-on-test reuse-model)

[ -x "$ctl" ] || { echo "published-steps: no $ctl; build first or pass BUILDDIR" >&2; exit 1; }

run() {
        local name=$1 mae
        shift
        mae=$("$ctl" evaluate --preset paper --data "$data" --methods random --k 10 --threads 1 "$@" 2>/dev/null |
                sed -n 's/^All features: MAE //p')
        printf '%-32s %s\n' "$name" "$mae"
}

printf '%-32s %s\n' "steps" "all-features MAE ± SD over the folds"
run "all five (--protocol published)" --protocol published "$@"
for leave in "${steps[@]}"; do
        args=()
        for s in "${steps[@]}"; do
                [ "$s" = "$leave" ] || args+=("--$s")
        done
        run "without --$leave" "${args[@]}" "$@"
done
run "none (clean)" "$@"
