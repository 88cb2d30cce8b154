#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job on a built tree: the bundled model on the bundled recording.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
ctl=$build/daemon/deepactifctl
model=$top/contrib/models/foval-robustvision.safetensors
[ -f "$model" ] || model=$top/tests/fixtures/lstm/foval-f40-h64-l1-t10-max-elu-o1.safetensors

"$ctl" model info "$model"
window=$(mktemp)
trap 'rm -f "$window"' EXIT
python3 - "$window" <<'PY' 2>/dev/null || awk 'BEGIN{srand(1); for(t=0;t<10;t++){for(f=0;f<40;f++) printf "%s%.4f", (f?",":""), rand()-0.5; print ""}}' > "$window"
import random, sys
random.seed(1)
with open(sys.argv[1], "w") as f:
    for t in range(10):
        f.write(",".join("%.4f" % (random.random() - 0.5) for _ in range(40)) + "\n")
PY
echo
echo "Prediction for one window of scaled inputs:"
"$ctl" predict --model "$model" --input "$window" --json
