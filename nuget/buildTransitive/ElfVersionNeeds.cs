// Build-time fix for loading TorchSharp's native shim on hosts whose libstdc++ is older than the one it
// was linked against (e.g. Debian 12, whose libstdc++ stops at GLIBCXX_3.4.30).
//
// libLibTorchSharp.so (TorchSharp 0.107) lists GLIBCXX_3.4.32 in its version needs only because the
// symbol _ZSt21ios_base_library_initv carries that version; no relocation ever binds that symbol, so the
// library works with an older libstdc++. The dynamic loader nevertheless refuses a hard version need it
// cannot satisfy. Setting VER_FLG_WEAK on that one need entry (section .gnu.version_r) turns the refusal
// into a silent pass. The patch is applied to the build output copy only, never to the package cache,
// and only when the host's libstdc++ lacks the version and every symbol bound to it is on an allow list
// and unreferenced by relocations.
//
// This file is compiled twice: as an MSBuild inline task (AnatomyR1.TorchSharp.targets) and, with
// ANATOMYR1_ELF_PATCH_TESTS defined, into the test project so the ELF logic is unit tested.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace AnatomyR1.Build
{
    /// <summary>One entry of an ELF version-need table (.gnu.version_r).</summary>
    public sealed class ElfVersionNeed
    {
        public ElfVersionNeed(string library, string version, ushort flags, ushort index, long flagsOffset)
        {
            Library = library;
            Version = version;
            Flags = flags;
            Index = index;
            FlagsOffset = flagsOffset;
        }

        /// <summary>The shared library the version is needed from (e.g. libstdc++.so.6).</summary>
        public string Library { get; }

        /// <summary>The version name (e.g. GLIBCXX_3.4.32).</summary>
        public string Version { get; }

        /// <summary>vna_flags; bit 0x2 is VER_FLG_WEAK.</summary>
        public ushort Flags { get; }

        /// <summary>vna_other: the index symbols use in .gnu.version to refer to this need.</summary>
        public ushort Index { get; }

        /// <summary>File offset of the vna_flags field.</summary>
        public long FlagsOffset { get; }

        /// <summary>Whether the need is already weak.</summary>
        public bool IsWeak => (Flags & ElfVersionNeeds.VerFlagWeak) != 0;
    }

    /// <summary>Outcome of <see cref="ElfVersionNeeds.WeakenUnsupported"/> for one file.</summary>
    public sealed class ElfPatchOutcome
    {
        public ElfPatchOutcome(bool changed, IReadOnlyList<string> messages)
        {
            Changed = changed;
            Messages = messages;
        }

        /// <summary>Whether the file was rewritten.</summary>
        public bool Changed { get; }

        /// <summary>What was done or why nothing was done, one line per version considered.</summary>
        public IReadOnlyList<string> Messages { get; }
    }

    /// <summary>Minimal ELF64 little-endian reader for symbol versioning, and the weak-need patch.</summary>
    public static class ElfVersionNeeds
    {
        public const ushort VerFlagWeak = 0x2;
        private const uint ShtRela = 4;
        private const uint ShtRel = 9;
        private const uint ShtDynsym = 11;
        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const uint ShtGnuVersym = 0x6fffffff;

        private readonly struct Section
        {
            public Section(uint type, long offset, long size, uint link, long entrySize)
            {
                Type = type;
                Offset = offset;
                Size = size;
                Link = link;
                EntrySize = entrySize;
            }

            public uint Type { get; }
            public long Offset { get; }
            public long Size { get; }
            public uint Link { get; }
            public long EntrySize { get; }
        }

        /// <summary>Whether the bytes start like a 64-bit little-endian ELF file.</summary>
        public static bool IsElf64LittleEndian(byte[] elf) =>
            elf.Length > 64 && elf[0] == 0x7f && elf[1] == (byte)'E' && elf[2] == (byte)'L' && elf[3] == (byte)'F'
            && elf[4] == 2 && elf[5] == 1;

        /// <summary>Reads the version-need table.</summary>
        public static IReadOnlyList<ElfVersionNeed> ReadNeeds(byte[] elf)
        {
            var sections = ReadSections(elf);
            var result = new List<ElfVersionNeed>();
            foreach (var section in sections.Where(s => s.Type == ShtGnuVerneed))
            {
                var strings = sections[(int)section.Link];
                long entry = section.Offset;
                while (true)
                {
                    ushort count = U16(elf, entry + 2);
                    string file = CString(elf, strings.Offset + U32(elf, entry + 4));
                    long aux = entry + U32(elf, entry + 8);
                    for (int i = 0; i < count; i++)
                    {
                        ushort flags = U16(elf, aux + 4);
                        ushort other = U16(elf, aux + 6);
                        string name = CString(elf, strings.Offset + U32(elf, aux + 8));
                        result.Add(new ElfVersionNeed(file, name, flags, other, aux + 4));
                        uint nextAux = U32(elf, aux + 12);
                        if (nextAux == 0)
                        {
                            break;
                        }

                        aux += nextAux;
                    }

                    uint next = U32(elf, entry + 12);
                    if (next == 0)
                    {
                        break;
                    }

                    entry += next;
                }
            }

            return result;
        }

        /// <summary>Reads the version names a library defines (.gnu.version_d), e.g. the GLIBCXX_* of libstdc++.</summary>
        public static IReadOnlyList<string> ReadDefinedVersions(byte[] elf)
        {
            var sections = ReadSections(elf);
            var result = new List<string>();
            foreach (var section in sections.Where(s => s.Type == ShtGnuVerdef))
            {
                var strings = sections[(int)section.Link];
                long entry = section.Offset;
                while (true)
                {
                    ushort auxCount = U16(elf, entry + 6);
                    long aux = entry + U32(elf, entry + 12);
                    if (auxCount > 0)
                    {
                        result.Add(CString(elf, strings.Offset + U32(elf, aux)));
                    }

                    uint next = U32(elf, entry + 16);
                    if (next == 0)
                    {
                        break;
                    }

                    entry += next;
                }
            }

            return result;
        }

        /// <summary>Names of the dynamic symbols whose version index is <paramref name="versionIndex"/>,
        /// and whether any relocation refers to one of them.</summary>
        public static (IReadOnlyList<string> Symbols, bool Relocated) SymbolsBoundTo(byte[] elf, ushort versionIndex)
        {
            var sections = ReadSections(elf);
            var symbols = new List<string>();
            var indices = new HashSet<long>();
            int dynsymIndex = sections.FindIndex(s => s.Type == ShtDynsym);
            int versymIndex = sections.FindIndex(s => s.Type == ShtGnuVersym);
            if (dynsymIndex < 0 || versymIndex < 0)
            {
                return (symbols, false);
            }

            var dynsym = sections[dynsymIndex];
            var versym = sections[versymIndex];
            var strings = sections[(int)dynsym.Link];
            long count = dynsym.Size / 24;
            for (long i = 0; i < count; i++)
            {
                ushort version = (ushort)(U16(elf, versym.Offset + (2 * i)) & 0x7fff);
                if (version == versionIndex)
                {
                    indices.Add(i);
                    symbols.Add(CString(elf, strings.Offset + U32(elf, dynsym.Offset + (24 * i))));
                }
            }

            bool relocated = false;
            foreach (var rel in sections.Where(s => (s.Type == ShtRela || s.Type == ShtRel) && s.Link == dynsymIndex))
            {
                long size = rel.Type == ShtRela ? 24 : 16;
                for (long at = rel.Offset; at + size <= rel.Offset + rel.Size; at += size)
                {
                    ulong info = U64(elf, at + 8);
                    if (indices.Contains((long)(info >> 32)))
                    {
                        relocated = true;
                    }
                }
            }

            return (symbols, relocated);
        }

        /// <summary>
        /// Marks as weak each need on <paramref name="versions"/> that <paramref name="hostDefinedVersions"/> lacks,
        /// provided every symbol bound to it is in <paramref name="allowedSymbols"/> and no relocation uses it.
        /// The file is rewritten through a temporary file and a rename, so a hard link into a package cache is
        /// never modified.
        /// </summary>
        public static ElfPatchOutcome WeakenUnsupported(
            string path,
            ICollection<string> hostDefinedVersions,
            ICollection<string> versions,
            ICollection<string> allowedSymbols)
        {
            var messages = new List<string>();
            byte[] elf = File.ReadAllBytes(path);
            if (!IsElf64LittleEndian(elf))
            {
                messages.Add($"{path}: not a 64-bit little-endian ELF file; left unchanged.");
                return new ElfPatchOutcome(false, messages);
            }

            bool changed = false;
            foreach (var need in ReadNeeds(elf).Where(n => versions.Contains(n.Version)))
            {
                if (hostDefinedVersions.Contains(need.Version))
                {
                    messages.Add($"{path}: the host's libstdc++ provides {need.Version}; no change needed.");
                    continue;
                }

                if (need.IsWeak)
                {
                    messages.Add($"{path}: {need.Version} is already a weak need.");
                    continue;
                }

                var (symbols, relocated) = SymbolsBoundTo(elf, need.Index);
                var unexpected = symbols.Where(s => !allowedSymbols.Contains(s)).ToList();
                if (unexpected.Count > 0 || relocated)
                {
                    string why = relocated
                        ? "a relocation uses a symbol of that version"
                        : "symbols outside the allow list use it: " + string.Join(", ", unexpected);
                    messages.Add($"{path}: {need.Version} is missing on this host but cannot be weakened safely ({why}); "
                        + "install a newer libstdc++ (GCC 13 or later).");
                    continue;
                }

                ushort flags = (ushort)(need.Flags | VerFlagWeak);
                elf[need.FlagsOffset] = (byte)(flags & 0xff);
                elf[need.FlagsOffset + 1] = (byte)(flags >> 8);
                changed = true;
                messages.Add($"{path}: marked the need for {need.Version} weak (symbols: {string.Join(", ", symbols)}).");
            }

            if (changed)
            {
                string temp = path + ".anatomyr1-tmp";
                File.WriteAllBytes(temp, elf);
                File.Replace(temp, path, null); // rename(2): the old inode (maybe a cache hard link) is untouched
            }

            return new ElfPatchOutcome(changed, messages);
        }

        /// <summary>
        /// Finds the libstdc++.so.6 the dynamic loader would use: the one mapped into this process if any
        /// (the .NET runtime links it), else the first in LD_LIBRARY_PATH and the usual library folders.
        /// </summary>
        public static string? FindHostLibStdCxx()
        {
            try
            {
                if (File.Exists("/proc/self/maps"))
                {
                    foreach (string line in File.ReadLines("/proc/self/maps"))
                    {
                        int slash = line.IndexOf('/');
                        if (slash >= 0 && line.IndexOf("/libstdc++.so.6", StringComparison.Ordinal) >= 0)
                        {
                            string candidate = line.Substring(slash).Trim();
                            if (File.Exists(candidate))
                            {
                                return candidate;
                            }
                        }
                    }
                }
            }
            catch (IOException)
            {
                // Fall through to the folder search.
            }

            var folders = new List<string>();
            string? ldPath = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
            if (!string.IsNullOrEmpty(ldPath))
            {
                folders.AddRange(ldPath.Split(new[] { ':' }, StringSplitOptions.RemoveEmptyEntries));
            }

            folders.AddRange(new[]
            {
                "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib",
            });
            return folders.Select(f => Path.Combine(f, "libstdc++.so.6")).FirstOrDefault(File.Exists);
        }

        private static List<Section> ReadSections(byte[] elf)
        {
            if (!IsElf64LittleEndian(elf))
            {
                throw new InvalidDataException("Not a 64-bit little-endian ELF file.");
            }

            long shoff = (long)U64(elf, 0x28);
            ushort shentsize = U16(elf, 0x3a);
            ushort shnum = U16(elf, 0x3c);
            var sections = new List<Section>(shnum);
            for (int i = 0; i < shnum; i++)
            {
                long at = shoff + ((long)i * shentsize);
                sections.Add(new Section(
                    type: U32(elf, at + 4),
                    offset: (long)U64(elf, at + 0x18),
                    size: (long)U64(elf, at + 0x20),
                    link: U32(elf, at + 0x28),
                    entrySize: (long)U64(elf, at + 0x38)));
            }

            return sections;
        }

        private static ushort U16(byte[] b, long at) => (ushort)(b[at] | (b[at + 1] << 8));

        private static uint U32(byte[] b, long at) => (uint)(b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24));

        private static ulong U64(byte[] b, long at) => U32(b, at) | ((ulong)U32(b, at + 4) << 32);

        private static string CString(byte[] b, long at)
        {
            long end = at;
            while (end < b.Length && b[end] != 0)
            {
                end++;
            }

            return Encoding.ASCII.GetString(b, (int)at, (int)(end - at));
        }
    }

#if !ANATOMYR1_ELF_PATCH_TESTS
    /// <summary>MSBuild task: weakens unsupported libstdc++ version needs in copies of libLibTorchSharp.so.</summary>
    public sealed class WeakenUnsupportedLibStdCxxVersions : Microsoft.Build.Utilities.Task
    {
        /// <summary>The output copies of libLibTorchSharp.so to inspect.</summary>
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <summary>Semicolon-separated version names that may be weakened.</summary>
        public string Versions { get; set; } = "GLIBCXX_3.4.32";

        /// <summary>Semicolon-separated symbol names that may be bound to a weakened version.</summary>
        public string AllowedSymbols { get; set; } = "_ZSt21ios_base_library_initv";

        /// <summary>
        /// Weaken the needs whatever this host's libstdc++ provides: for output that runs on other hosts (a .NET tool
        /// package, a published application). A weak need is harmless where the version exists.
        /// </summary>
        public bool ForAnyHost { get; set; }

        public override bool Execute()
        {
            string? libstdcxx = ForAnyHost ? "(any host)" : ElfVersionNeeds.FindHostLibStdCxx();
            if (libstdcxx == null)
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal,
                    "AnatomyR1: no libstdc++.so.6 found on this host; libLibTorchSharp.so left unchanged.");
                return true;
            }

            var hostVersions = ForAnyHost ? new HashSet<string>() : new HashSet<string>(ElfVersionNeeds.ReadDefinedVersions(File.ReadAllBytes(libstdcxx)));
            var versions = new HashSet<string>(Versions.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries));
            var allowed = new HashSet<string>(AllowedSymbols.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries));
            foreach (var item in Files)
            {
                string path = item.ItemSpec;
                if (!File.Exists(path))
                {
                    continue;
                }

                var outcome = ElfVersionNeeds.WeakenUnsupported(path, hostVersions, versions, allowed);
                foreach (string message in outcome.Messages)
                {
                    if (message.IndexOf("cannot be weakened", StringComparison.Ordinal) >= 0)
                    {
                        Log.LogWarning("AnatomyR1: " + message);
                    }
                    else
                    {
                        Log.LogMessage(outcome.Changed ? Microsoft.Build.Framework.MessageImportance.High
                            : Microsoft.Build.Framework.MessageImportance.Low, "AnatomyR1: " + message + " (libstdc++: " + libstdcxx + ")");
                    }
                }
            }

            return !Log.HasLoggedErrors;
        }
    }
#endif
}
