using System.Globalization;
using System.Text;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>
/// Unicode Normalization Form C (UAX #15) with its own tables (<c>QwenNfc.Data.cs</c>). The tokenizer cannot use
/// <see cref="string.Normalize(NormalizationForm)"/>: with globalization-invariant mode (which this repository's
/// projects enable, and which applications may enable) .NET leaves non-ASCII text unnormalised, so the ids would
/// depend on the host's settings. Microsoft.ML.Tokenizers has no NFC normaliser of its own.
/// </summary>
internal static partial class QwenNfc
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Lazy<Tables> Data = new(Tables.Build, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The NFC form of a text (lone surrogates are kept as they are).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The text itself when it is already in NFC, else its NFC form.</returns>
    public static string Normalize(string text)
    {
        // Everything below U+0300 is NFC_Quick_Check=Yes with combining class 0.
        int i = 0;
        while (i < text.Length && text[i] < '\u0300')
        {
            i++;
        }

        if (i == text.Length)
        {
            return text;
        }

        var tables = Data.Value;
        if (IsQuickYes(text, i, tables))
        {
            return text;
        }

        var cps = new List<int>(text.Length + 8);
        for (int k = 0; k < text.Length; k++)
        {
            int cp = text[k];
            if (char.IsHighSurrogate(text[k]) && k + 1 < text.Length && char.IsLowSurrogate(text[k + 1]))
            {
                cp = char.ConvertToUtf32(text[k], text[k + 1]);
                k++;
            }

            Decompose(cp, cps, tables);
        }

        OrderMarks(cps, tables);
        int length = Compose(cps, tables);

        var sb = new StringBuilder(length + 4);
        for (int k = 0; k < length; k++)
        {
            int cp = cps[k];
            if (cp is >= 0xD800 and <= 0xDFFF)
            {
                sb.Append((char)cp);
            }
            else
            {
                sb.Append(char.ConvertFromUtf32(cp));
            }
        }

        return sb.ToString();
    }

    private static bool IsQuickYes(string text, int start, Tables tables)
    {
        int lastClass = 0;
        for (int k = start; k < text.Length; k++)
        {
            int cp = text[k];
            if (char.IsHighSurrogate(text[k]) && k + 1 < text.Length && char.IsLowSurrogate(text[k + 1]))
            {
                cp = char.ConvertToUtf32(text[k], text[k + 1]);
                k++;
            }

            int cls = tables.ClassOf(cp);
            if (cls != 0 && lastClass > cls)
            {
                return false;
            }

            if (tables.QuickCheckNotYes.Contains(cp))
            {
                return false;
            }

            lastClass = cls;
        }

        return true;
    }

    private static void Decompose(int cp, List<int> output, Tables tables)
    {
        int s = cp - SBase;
        if (s is >= 0 and < SCount)
        {
            output.Add(LBase + (s / NCount));
            output.Add(VBase + (s % NCount / TCount));
            if (s % TCount != 0)
            {
                output.Add(TBase + (s % TCount));
            }

            return;
        }

        if (tables.FullDecomposition.TryGetValue(cp, out int[]? parts))
        {
            output.AddRange(parts);
        }
        else
        {
            output.Add(cp);
        }
    }

    // Canonical ordering: a stable sort of every run of non-starters by combining class.
    private static void OrderMarks(List<int> cps, Tables tables)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int cls = tables.ClassOf(cps[i]);
            if (cls == 0)
            {
                continue;
            }

            int j = i;
            while (j > 0)
            {
                int before = tables.ClassOf(cps[j - 1]);
                if (before == 0 || before <= cls)
                {
                    break;
                }

                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
                j--;
            }
        }
    }

    // Canonical composition in place; returns the new length.
    private static int Compose(List<int> cps, Tables tables)
    {
        if (cps.Count == 0)
        {
            return 0;
        }

        int starterPos = 0;
        int starter = cps[0];
        int lastClass = tables.ClassOf(starter) == 0 ? 0 : 256; // a leading mark blocks itself (no composition starts with a mark)
        int write = 1;
        for (int read = 1; read < cps.Count; read++)
        {
            int ch = cps[read];
            int cls = tables.ClassOf(ch);
            bool unblocked = lastClass == 0 || lastClass < cls;
            if (unblocked && TryCompose(starter, ch, tables, out int composite))
            {
                cps[starterPos] = composite;
                starter = composite;
                continue;
            }

            if (cls == 0)
            {
                starterPos = write;
                starter = ch;
            }

            lastClass = cls;
            cps[write++] = ch;
        }

        return write;
    }

    private static bool TryCompose(int first, int second, Tables tables, out int composite)
    {
        int l = first - LBase, v = second - VBase;
        if (l is >= 0 and < LCount && v is >= 0 and < VCount)
        {
            composite = SBase + (((l * VCount) + v) * TCount);
            return true;
        }

        int s = first - SBase, t = second - TBase;
        if (s is >= 0 and < SCount && s % TCount == 0 && t is > 0 and < TCount)
        {
            composite = first + t;
            return true;
        }

        return tables.Compositions.TryGetValue(((long)first << 21) | (uint)second, out composite);
    }

    private sealed class Tables
    {
        private Tables(Dictionary<int, int[]> fullDecomposition, Dictionary<int, byte> classes, Dictionary<long, int> compositions, HashSet<int> quickCheckNotYes)
        {
            FullDecomposition = fullDecomposition;
            Classes = classes;
            Compositions = compositions;
            QuickCheckNotYes = quickCheckNotYes;
        }

        public Dictionary<int, int[]> FullDecomposition { get; }

        public Dictionary<int, byte> Classes { get; }

        public Dictionary<long, int> Compositions { get; }

        public HashSet<int> QuickCheckNotYes { get; }

        public int ClassOf(int cp) => cp < 0x300 ? 0 : Classes.TryGetValue(cp, out byte c) ? c : 0;

        public static Tables Build()
        {
            var single = new Dictionary<int, int[]>();
            foreach (string entry in Entries(DecompositionData))
            {
                int gt = entry.IndexOf('>', StringComparison.Ordinal);
                single[Hex(entry[..gt])] = entry[(gt + 1)..].Split('+').Select(Hex).ToArray();
            }

            var classes = new Dictionary<int, byte>();
            foreach (string entry in Entries(CombiningClassData))
            {
                int eq = entry.IndexOf('=', StringComparison.Ordinal);
                byte cls = byte.Parse(entry[(eq + 1)..], CultureInfo.InvariantCulture);
                foreach (int cp in Range(entry[..eq]))
                {
                    classes[cp] = cls;
                }
            }

            var excluded = new HashSet<int>(Entries(CompositionExclusionData).SelectMany(Range));
            var quick = new HashSet<int>(Entries(QuickCheckData).SelectMany(Range));

            var full = new Dictionary<int, int[]>(single.Count);
            foreach (int cp in single.Keys)
            {
                var parts = new List<int>();
                Expand(cp, single, parts);
                full[cp] = parts.ToArray();
            }

            var compositions = new Dictionary<long, int>();
            foreach (var (cp, parts) in single)
            {
                if (parts.Length == 2 && !excluded.Contains(cp))
                {
                    compositions[((long)parts[0] << 21) | (uint)parts[1]] = cp;
                }
            }

            return new Tables(full, classes, compositions, quick);
        }

        private static void Expand(int cp, Dictionary<int, int[]> single, List<int> output)
        {
            if (single.TryGetValue(cp, out int[]? parts))
            {
                foreach (int p in parts)
                {
                    Expand(p, single, output);
                }
            }
            else
            {
                output.Add(cp);
            }
        }

        private static string[] Entries(string data) => data.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

        private static IEnumerable<int> Range(string text)
        {
            int dots = text.IndexOf("..", StringComparison.Ordinal);
            int first = Hex(dots < 0 ? text : text[..dots]);
            int last = dots < 0 ? first : Hex(text[(dots + 2)..]);
            for (int cp = first; cp <= last; cp++)
            {
                yield return cp;
            }
        }

        private static int Hex(string text) => int.Parse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}
