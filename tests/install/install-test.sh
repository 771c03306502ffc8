#!/usr/bin/env bash
# The install test: packs the four AnatomyR1 packages with a unique pre-release version into a temporary folder feed,
# checks what the packages carry, then does what a user does: a fresh console project that installs the packages
# (plus the CPU libtorch) from the feed and runs a tiny pipeline (tests/install/consumer/Program.cs), and the
# anatomy-r1 tool installed from the same feed. On a host whose libstdc++ predates GLIBCXX_3.4.32 (Debian 12) the
# program only loads TorchSharp because the package's buildTransitive targets patch the application's copy of the shim.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
version="0.1.0-ci.$(date +%Y%m%d%H%M%S).$$"
packages_cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
cleanup() {
  rm -rf "$work"
  # Leave no test versions in the package cache (the tool package alone is 140 MB).
  for id in anatomyr1 anatomyr1.torchsharp anatomyr1.extensions.ai anatomyr1.cli; do rm -rf "$packages_cache/$id/$version"; done
}
trap cleanup EXIT
feed="$work/feed"
app="$work/app"

bash "$repo/scripts/pack.sh" "$feed" "$version" >/dev/null

# A zip archive stores entry names uncompressed in its central directory, so grep finds them without an unzip tool.
has() { grep -a -q "$2" "$feed/$1.$version.$3" || { echo "$1.$version.$3 lacks $2" >&2; exit 1; }; }
for id in AnatomyR1 AnatomyR1.TorchSharp AnatomyR1.Extensions.AI AnatomyR1.Cli; do
  has "$id" "README.md" nupkg
  has "$id" "LICENSE" nupkg
  has "$id" "icon.png" nupkg
  has "$id" ".pdb" snupkg
done
for id in AnatomyR1 AnatomyR1.TorchSharp AnatomyR1.Extensions.AI; do has "$id" "lib/net10.0/$id.xml" nupkg; done
has AnatomyR1.TorchSharp "buildTransitive/AnatomyR1.TorchSharp.targets" nupkg
has AnatomyR1.TorchSharp "models/anatomy-r1-tiny-warmstart/model.safetensors" nupkg
has AnatomyR1.Cli "tools/net10.0/linux-x64/anatomy-r1.dll" nupkg
has AnatomyR1.Cli "tools/net10.0/linux-x64/models/anatomy-r1-tiny-warmstart/model.safetensors" nupkg
echo "package contents: OK"

mkdir -p "$app"
cat > "$app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local-feed" value="$feed" />
  </packageSources>
</configuration>
XML
cat > "$app/Consumer.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <RuntimeIdentifier>linux-x64</RuntimeIdentifier>
    <SelfContained>false</SelfContained>
    <NoWarn>\$(NoWarn);NU1603</NoWarn>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="AnatomyR1.TorchSharp" Version="$version" />
    <PackageReference Include="AnatomyR1.Extensions.AI" Version="$version" />
    <PackageReference Include="libtorch-cpu-linux-x64" Version="2.10.0" />
  </ItemGroup>
</Project>
XML
cp "$repo/tests/install/consumer/Program.cs" "$app/Program.cs"

dotnet build "$app/Consumer.csproj" --nologo -v q
dotnet "$app/bin/Debug/net10.0/linux-x64/Consumer.dll" symbols "$feed"
dotnet "$app/bin/Debug/net10.0/linux-x64/Consumer.dll" "$work/run"

# The command-line tool, installed from the same feed.
dotnet tool install AnatomyR1.Cli --version "$version" --tool-path "$work/tools" --add-source "$feed" >/dev/null
"$work/tools/anatomy-r1" synth --out "$work/tool-data" --count 80 --seed 2 >/dev/null
"$work/tools/anatomy-r1" eval --model builtin --data "$work/tool-data/test.json" --json --out "$work/tool-eval.json" >/dev/null
grep -q '"accuracy"' "$work/tool-eval.json" || { echo "anatomy-r1 eval wrote no accuracy" >&2; exit 1; }
echo "tool: OK (anatomy-r1 synth and eval --model builtin ran from the installed tool)"
echo "install test: OK ($version)"
