#!/usr/bin/env bash
# Rebuilds the built-in checkpoint models/anatomy-r1-tiny-warmstart from scratch on the CPU (about 11 minutes on
# 2 cores), in two phases:
#   1. perception: 2,000 steps on positional questions only ("What anatomy is at the top-left of the frame?"),
#      4,000 synthetic records with generator seed 1, no drill (every example has an image);
#   2. the full mix: 1,200 steps on 8,000 records of all five families (generator seed 1), half of each batch drill,
#      starting from phase 1.
# Training seed 1 throughout. Prints held-out accuracy on the validation split at the end of each phase.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dotnet build src/AnatomyR1.Cli -c Release --nologo -v q
cli="dotnet src/AnatomyR1.Cli/bin/Release/net10.0/linux-x64/anatomy-r1.dll"
$cli synth --out "$work/positional" --count 4000 --seed 1 --families positional
$cli synth --out "$work/data" --count 8000 --seed 1
$cli warmstart --data "$work/positional/train.json" --eval "$work/positional/val.json" --out "$work/phase1" \
  --steps 2000 --batch-size 32 --lr 1e-3 --drill 0 --seed 1 --device cpu
$cli warmstart --data "$work/data/train.json" --eval "$work/data/val.json" --out models/anatomy-r1-tiny-warmstart \
  --init "$work/phase1" --steps 1200 --batch-size 32 --lr 1e-3 --drill 0.5 --seed 1 --device cpu
