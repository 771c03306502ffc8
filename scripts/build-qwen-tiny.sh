#!/usr/bin/env bash
# Trains the qwen-tiny preset (a 1.1 M-parameter Qwen2.5-VL) from scratch on the synthetic scenes with the same
# two-phase schedule as the built-in checkpoint (scripts/build-checkpoint.sh), then evaluates it on the test split
# with the image and with another scene's image. Usage: scripts/build-qwen-tiny.sh OUT_DIR
set -euo pipefail
out="${1:?usage: scripts/build-qwen-tiny.sh OUT_DIR}"
cd "$(dirname "$0")/.."
mkdir -p "$out"
dotnet build src/AnatomyR1.Cli -c Release --nologo -v q
cli="dotnet src/AnatomyR1.Cli/bin/Release/net10.0/linux-x64/anatomy-r1.dll"
[ -f "$out/positional/train.json" ] || $cli synth --out "$out/positional" --count 4000 --seed 1 --families positional
[ -f "$out/data/train.json" ] || $cli synth --out "$out/data" --count 8000 --seed 1
$cli warmstart --preset qwen-tiny --data "$out/positional/train.json" --eval "$out/positional/val.json" --out "$out/phase1" \
  --steps "${PHASE1_STEPS:-2000}" --batch-size 32 --lr 1e-3 --drill 0 --seed 1 --device cpu
$cli warmstart --data "$out/data/train.json" --eval "$out/data/val.json" --out "$out/qwen-tiny-warmstart" \
  --init "$out/phase1" --steps "${PHASE2_STEPS:-1200}" --batch-size 32 --lr 1e-3 --drill 0.5 --seed 1 --device cpu
$cli eval --model "$out/qwen-tiny-warmstart" --data "$out/data/test.json" --json --out "$out/eval-test.json"
