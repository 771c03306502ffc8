#!/usr/bin/env bash
# Packs AnatomyR1 and AnatomyR1.TorchSharp with a unique pre-release version into a temporary folder feed, then
# builds and runs a fresh console application that installs them the way a user would (plus the CPU libtorch).
# On a host whose libstdc++ predates GLIBCXX_3.4.32 this only works because the package's buildTransitive targets
# patch the application's copy of libLibTorchSharp.so.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
version="0.1.0-ci.$(date +%Y%m%d%H%M%S).$$"
feed="$work/feed"
app="$work/app"

dotnet pack "$repo/src/AnatomyR1/AnatomyR1.csproj" -c Release -o "$feed" -p:Version="$version" --nologo -v q
dotnet pack "$repo/src/AnatomyR1.TorchSharp/AnatomyR1.TorchSharp.csproj" -c Release -o "$feed" -p:Version="$version" --nologo -v q

# A zip archive stores entry names uncompressed in its central directory, so grep finds them without an unzip tool.
grep -a -q "buildTransitive/AnatomyR1.TorchSharp.targets" "$feed/AnatomyR1.TorchSharp.$version.nupkg" \
  || { echo "the package lacks buildTransitive/AnatomyR1.TorchSharp.targets" >&2; exit 1; }

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
    <PackageReference Include="libtorch-cpu-linux-x64" Version="2.10.0" />
  </ItemGroup>
</Project>
XML
cat > "$app/Program.cs" <<'CS'
using AnatomyR1.Prompts;
using AnatomyR1.TorchSharp.Runtime;
using static TorchSharp.torch;

var device = TorchRuntime.ResolveDevice("cpu");
TorchRuntime.Seed(1);
using var w = randn(3, requires_grad: true);
using var loss = (w * w).sum();
loss.backward();
bool gradOk = w.grad!.allclose(w * 2);
int pick = new AnswerExtractor(AnswerExtractionStrategy.TagLetter).Extract("<answer>B</answer>", new[] { "Liver", "Gut" }).Index;
Console.WriteLine($"consumer ok: device={device.type} grad={gradOk} pick={pick}");
return gradOk && pick == 1 ? 0 : 1;
CS

dotnet build "$app/Consumer.csproj" --nologo -v q
out="$(dotnet "$app/bin/Debug/net10.0/linux-x64/Consumer.dll")"
echo "$out"
[[ "$out" == "consumer ok: device=CPU grad=True pick=1" ]]
echo "consumer build: OK ($version)"
