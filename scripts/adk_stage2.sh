#!/usr/bin/env bash
# Stage 2 on the AdK benchmark: the README's stage-2 table from a stage-1 run of
# scripts/adk_benchmark.py. Flow samples, transfer to a related reference (4 point mutations,
# residues 144-146 deleted), the NMA and unchanged-reference baselines, and a latent interpolation
# from a second fit on maps 0 and 3 only (held-out truths 1 and 2). Every ensemble is scored
# against the four maps (precision / recall / W2, distance sqrt(1 - CC_volume)) and the truths
# (C-alpha RMSD of the closest model).
# Usage: scripts/adk_stage2.sh RUN_DIR          (EXE, DATA override the binary and the data folder)
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:?usage: scripts/adk_stage2.sh RUN_DIR}
EXE=${EXE:-target/release/cryosampler}
DATA=${DATA:-../shared/data/adk_tmd}
MAPS=("$DATA"/map_{0,1,2,3}_noisy.mrc)
TRUTHS=("$DATA"/truth_{0,1,2,3}.pdb)
OUT=$RUN/stage2
mkdir -p "$OUT"

score() { # name models... [--truth truths...]
  local name=$1
  shift
  "$EXE" evaluate --maps "${MAPS[@]}" --models "$@" --resolution 4.5 --no-geometry \
    --json "$OUT/$name.json" > "$OUT/$name.txt"
}

"$EXE" sample "$RUN" --n 16 --out "$OUT/samples.pdb" --force
"$EXE" edit --model "$DATA/reference.pdb" --mutate A:31:ALA A:57:ALA A:120:GLY A:171:ALA \
  --delete A:144-146 --out "$OUT/related_reference.pdb" --force
"$EXE" sample "$RUN" --n 16 --reference "$OUT/related_reference.pdb" --out "$OUT/transfer.pdb" --force
"$EXE" nma --reference "$DATA/reference.pdb" --n 16 --rmsd 1 --out "$OUT/nma.pdb" --force
score samples "$OUT/samples.pdb" --truth "${TRUTHS[@]}"
score nma "$OUT/nma.pdb" --truth "${TRUTHS[@]}"
score reference "$DATA/reference.pdb" --truth "${TRUTHS[@]}"
# the related reference lacks residues 144-146: C-alpha RMSD to the truths on the 211 it shares
score transfer "$OUT/transfer.pdb" --truth "${TRUTHS[@]}"
score related_reference "$OUT/related_reference.pdb" --truth "${TRUTHS[@]}"

# interpolation: a stage-1 fit on the two end maps only, then 8 structures between their codes
INTERP=$OUT/fit_0_3
if [ ! -f "$INTERP/metrics.json" ]; then
  "$EXE" fit --maps "${MAPS[0]}" "${MAPS[3]}" --reference "$DATA/reference.pdb" --resolution 4.5 \
    --out "$INTERP" --force > "$OUT/fit_0_3.log"
fi
"$EXE" interpolate "$INTERP" --from 0 --to 1 --steps 8 --out "$OUT/interpolation.pdb" --force
score interpolation "$OUT/interpolation.pdb" --truth "${TRUTHS[@]}"

python3 - "$OUT" <<'EOF'
import json, sys
out = sys.argv[1]
print("| ensemble | precision | recall | W2 | closest to truths 0 / 1 / 2 / 3 |")
print("|---|---|---|---|---|")
for name in ["samples", "nma", "reference", "interpolation", "transfer", "related_reference"]:
    d = json.load(open(f"{out}/{name}.json"))
    e = d.get("ensemble") or {}
    closest = " / ".join(f"{c['ca_rmsd']:.2f}" for c in d.get("closest_to_truth", [])) or "-"
    f = lambda k: f"{e[k]:.3f}" if k in e else "-"
    print(f"| {name} | {f('precision')} | {f('recall')} | {f('w2')} | {closest} |")
EOF
