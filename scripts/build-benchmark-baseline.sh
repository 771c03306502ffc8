#!/usr/bin/env bash
# Builds the version-comparison benchmark's driver (benchmarks/AnatomyR1.Benchmarks.Driver, as it is in this
# checkout) against the library as it was at COMMIT, into OUT_DIR. Then
#   ANATOMYR1_BASELINE=OUT_DIR dotnet run -c Release --project benchmarks/AnatomyR1.Benchmarks -- --filter '*VersionComparison*'
# measures this checkout against that commit in one run. Usage: scripts/build-benchmark-baseline.sh COMMIT OUT_DIR
set -euo pipefail
commit="${1:?usage: scripts/build-benchmark-baseline.sh COMMIT OUT_DIR}"
out="${2:?usage: scripts/build-benchmark-baseline.sh COMMIT OUT_DIR}"
cd "$(dirname "$0")/.."
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git archive "$commit" | tar -x -C "$work"
rm -rf "$work/benchmarks/AnatomyR1.Benchmarks.Driver"
mkdir -p "$work/benchmarks/AnatomyR1.Benchmarks.Driver"
cp benchmarks/AnatomyR1.Benchmarks.Driver/*.cs benchmarks/AnatomyR1.Benchmarks.Driver/*.csproj "$work/benchmarks/AnatomyR1.Benchmarks.Driver/"
# The archive has no git metadata: build without source-control queries.
dotnet build "$work/benchmarks/AnatomyR1.Benchmarks.Driver" -c Release -o "$out" --nologo -v q \
  -p:EnableSourceControlManagerQueries=false -p:EnableSourceLink=false -p:PublishRepositoryUrl=false
echo "baseline $(git rev-parse --short "$commit") built into $out"
