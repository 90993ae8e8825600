#!/usr/bin/env bash
# Recipe for the bundled demo data (run from the repository root after building the CLI):
#   bash data/demo/make_demo.sh ../shared/data/pdb
# Inputs: wwPDB entries 1AKE (closed adenylate kinase, chain A) and 4AKE (open, chain A, here as
# ../shared/data/pdb/1ake.pdb and 4ake_chainA_aligned_h.pdb); wwPDB data are CC0.
# Everything below is made with this project's own tools (the `cryosampler` CLI).
set -euo pipefail
PDB=${1:-../shared/data/pdb}
BIN=${CRYOSAMPLER_BIN:-target/release/cryosampler}
OUT=data/demo
# the open state, heavy atoms only
$BIN edit --model "$PDB/4ake_chainA_aligned_h.pdb" --no-hydrogens --out $OUT/open_4ake.pdb --force
# the closed state restricted to the atoms both entries have: it plays the static prediction
$BIN edit --model "$PDB/1ake.pdb" --chain A --no-hydrogens --common-with $OUT/open_4ake.pdb --out $OUT/reference_1ake.pdb --force
# a halfway state (linear morph after superposition; a test state, not a physical path)
$BIN edit --model $OUT/reference_1ake.pdb --morph-to $OUT/open_4ake.pdb --t 0.5 --out $OUT/halfway.pdb --force
# the three true states in the reference's atom order
$BIN edit --model $OUT/reference_1ake.pdb --morph-to $OUT/open_4ake.pdb --t 0.0 --out $OUT/truth_closed.pdb --force
$BIN edit --model $OUT/reference_1ake.pdb --morph-to $OUT/open_4ake.pdb --t 1.0 --out $OUT/truth_open.pdb --force
cp $OUT/halfway.pdb $OUT/truth_halfway.pdb && rm $OUT/halfway.pdb $OUT/open_4ake.pdb
# maps: 6 A, 2 A voxels, B 20 + 60, band-limited noise at SNR 2, one common box
$BIN simulate --model $OUT/truth_open.pdb --out $OUT/map_open.mrc --resolution 6 --voxel 2 --pad 8 --snr 2 --seed 1 --force
for s in closed halfway; do
  $BIN simulate --model $OUT/truth_$s.pdb --like $OUT/map_open.mrc --out $OUT/map_$s.mrc --resolution 6 --snr 2 --seed 2 --force
done
echo "demo data written to $OUT"
