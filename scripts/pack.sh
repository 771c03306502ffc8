#!/usr/bin/env bash
# Packs the four AnatomyR1 packages (with their .snupkg symbol packages) into a folder.
#   scripts/pack.sh [output folder, default nuget/packages] [version, default the one in Directory.Build.props]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$repo/nuget/packages}"
version_arg=()
if [ -n "${2:-}" ]; then version_arg=(-p:Version="$2"); fi
mkdir -p "$out"
for project in AnatomyR1 AnatomyR1.TorchSharp AnatomyR1.Extensions.AI AnatomyR1.Cli; do
  # ContinuousIntegrationBuild: deterministic paths in the PDBs (/_/…) rather than the build machine's folders.
  dotnet pack "$repo/src/$project/$project.csproj" -c Release -o "$out" "${version_arg[@]}" -p:ContinuousIntegrationBuild=true --nologo -v q
done
ls -l "$out"
