namespace AnatomyR1.Prompts;

/// <summary>
/// The similarity ratio of Python's <c>difflib.SequenceMatcher(None, a, b).ratio()</c>, reimplemented:
/// 2·M / (|a| + |b|), where M is the total size of the matching blocks found by recursively taking the longest
/// common substring. Like difflib with <c>autojunk=True</c>, characters of <c>b</c> that occur more
/// than 1% + 1 times in a <c>b</c> of 200 or more characters are not used to start a match.
/// Strings are compared by UTF-16 code unit (identical to Python for text without astral-plane characters).
/// </summary>
public static class SequenceMatcher
{
    /// <summary>The difflib ratio of two strings, in [0, 1]; 1 when both are empty.</summary>
    /// <param name="a">First sequence (OmniMedVQA's scorer passes the option here).</param>
    /// <param name="b">Second sequence (the prediction).</param>
    /// <returns>The ratio.</returns>
    public static double Ratio(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        int total = a.Length + b.Length;
        return total == 0 ? 1.0 : 2.0 * MatchingCharacters(a, b) / total;
    }

    /// <summary>Total size of difflib's matching blocks between <paramref name="a"/> and <paramref name="b"/>.</summary>
    /// <param name="a">First sequence.</param>
    /// <param name="b">Second sequence.</param>
    /// <returns>The number of matched characters.</returns>
    public static int MatchingCharacters(string a, string b)
    {
        var b2j = IndexOf(b);
        int matched = 0;
        var queue = new Stack<(int ALo, int AHi, int BLo, int BHi)>();
        queue.Push((0, a.Length, 0, b.Length));
        var j2len = new Dictionary<int, int>();
        var next = new Dictionary<int, int>();
        while (queue.Count > 0)
        {
            var (alo, ahi, blo, bhi) = queue.Pop();
            var (i, j, k) = LongestMatch(a, b, b2j, alo, ahi, blo, bhi, ref j2len, ref next);
            if (k == 0)
            {
                continue;
            }

            matched += k;
            if (alo < i && blo < j)
            {
                queue.Push((alo, i, blo, j));
            }

            if (i + k < ahi && j + k < bhi)
            {
                queue.Push((i + k, ahi, j + k, bhi));
            }
        }

        return matched;
    }

    private static Dictionary<char, List<int>> IndexOf(string b)
    {
        var b2j = new Dictionary<char, List<int>>();
        for (int j = 0; j < b.Length; j++)
        {
            if (!b2j.TryGetValue(b[j], out var list))
            {
                b2j[b[j]] = list = new List<int>();
            }

            list.Add(j);
        }

        if (b.Length >= 200)
        {
            int popular = (b.Length / 100) + 1;
            foreach (char c in b2j.Where(p => p.Value.Count > popular).Select(p => p.Key).ToList())
            {
                b2j.Remove(c);
            }
        }

        return b2j;
    }

    private static (int I, int J, int K) LongestMatch(
        string a, string b, Dictionary<char, List<int>> b2j, int alo, int ahi, int blo, int bhi,
        ref Dictionary<int, int> j2len, ref Dictionary<int, int> next)
    {
        int besti = alo, bestj = blo, bestsize = 0;
        j2len.Clear();
        for (int i = alo; i < ahi; i++)
        {
            next.Clear();
            if (b2j.TryGetValue(a[i], out var js))
            {
                foreach (int j in js)
                {
                    if (j < blo)
                    {
                        continue;
                    }

                    if (j >= bhi)
                    {
                        break;
                    }

                    int k = (j2len.TryGetValue(j - 1, out int previous) ? previous : 0) + 1;
                    next[j] = k;
                    if (k > bestsize)
                    {
                        besti = i - k + 1;
                        bestj = j - k + 1;
                        bestsize = k;
                    }
                }
            }

            (j2len, next) = (next, j2len);
        }

        // difflib then extends the match over equal neighbours (popular characters are not junk, so they extend too).
        while (besti > alo && bestj > blo && a[besti - 1] == b[bestj - 1])
        {
            besti--;
            bestj--;
            bestsize++;
        }

        while (besti + bestsize < ahi && bestj + bestsize < bhi && a[besti + bestsize] == b[bestj + bestsize])
        {
            bestsize++;
        }

        return (besti, bestj, bestsize);
    }
}
