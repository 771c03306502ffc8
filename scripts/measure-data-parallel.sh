#!/usr/bin/env bash
# Step time of GRPO at one global batch (B = 8 prompts × G = 8, 64 new tokens, built-in policy) on this machine:
# one process with 2 intra-op threads (1 and 2 shards) against mpirun -np 2 with 1 thread per process, run in turn
# ROUNDS times so that the machine's drift hits every setup alike. Prints the median step time of each setup over all
# rounds (the first 2 steps of every run left out) and the median allreduce time per step under mpirun.
# Usage: scripts/measure-data-parallel.sh [ROUNDS] [STEPS]
set -euo pipefail
rounds="${1:-3}"
steps="${2:-12}"
cd "$(dirname "$0")/.."
dotnet build src/AnatomyR1.Cli -c Release -v q --nologo >/dev/null
cli="src/AnatomyR1.Cli/bin/Release/net10.0/linux-x64/anatomy-r1.dll"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dotnet "$cli" synth --out "$work/data" --count 200 --seed 11 >/dev/null
args=(train --data "$work/data/train.json" --method grpo --steps "$steps" --batch-size 8 --num-generations 8 --max-new-tokens 64 --checkpoint-every 0 --device cpu)
for r in $(seq 1 "$rounds"); do
  OMP_NUM_THREADS=2 dotnet "$cli" "${args[@]}" --out "$work/one-$r" >/dev/null
  OMP_NUM_THREADS=2 dotnet "$cli" "${args[@]}" --shards 2 --out "$work/one-two-shards-$r" >/dev/null
  mpirun --allow-run-as-root --oversubscribe -np 2 -x OMP_NUM_THREADS=1 dotnet "$cli" "${args[@]}" --out "$work/mpi-$r" >/dev/null
  mpirun --allow-run-as-root --oversubscribe -np 2 -x OMP_NUM_THREADS=2 dotnet "$cli" "${args[@]}" --out "$work/mpi-oversubscribed-$r" >/dev/null
done
python3 - "$work" <<'PY'
import json, statistics, sys, glob
work = sys.argv[1]
def values(prefix, key):
    out = []
    for f in sorted(glob.glob(f"{work}/{prefix}-[0-9]*/metrics.jsonl")):
        rows = [json.loads(l) for l in open(f)]
        out += [r[key] for r in rows[2:] if key in r]
    return out
print("| setup | median step s | median generation s | median update s | steps |")
print("|---|---:|---:|---:|---:|")
base = None
for name, prefix in [("1 process × 2 threads, 1 shard", "one"), ("1 process × 2 threads, 2 shards", "one-two-shards"),
                     ("2 processes × 1 thread (mpirun)", "mpi"), ("2 processes × 2 threads (mpirun, oversubscribed)", "mpi-oversubscribed")]:
    s = values(prefix, "step_time")
    m = statistics.median(s)
    base = base or m
    print(f"| {name} | {m:.3f} ({base / m:.2f}×) | {statistics.median(values(prefix, 'time/generation')):.3f} | {statistics.median(values(prefix, 'time/backward')):.3f} | {len(s)} |")
a = values("mpi", "time/allreduce")
print(f"\nallreduce of the gradients under mpirun -np 2 × 1 thread: median {statistics.median(a) * 1e3:.2f} ms per step over {len(a)} steps")
PY
