using System.Globalization;
using System.Text;
using AnatomyR1.Persistence;
using AnatomyR1.Synthetic;

namespace AnatomyR1.Curriculum;

/// <summary>
/// Similarity looked up in a user-supplied class × class table: anatomical adjacency, a confusion matrix, or (on the
/// synthetic scenes) the renderer's designed <see cref="VisualSimilarity"/>. Option texts are matched to class names
/// after trimming, ignoring case. The table may be asymmetric (a confusion matrix is): <c>Similarity(a, b)</c> is the
/// entry in row a, column b, and S(q) reads the answer's row. An option that is not a class is an error naming it.
/// </summary>
public sealed class ClassSimilarityTable : IOptionSimilarity, IPersistentComponent
{
    private const string TableFile = "class-similarity.csv";
    private readonly Dictionary<string, int> _index;
    private readonly double[,] _values;

    /// <summary>Creates a table.</summary>
    /// <param name="classes">Class names (distinct ignoring case).</param>
    /// <param name="values">values[i, j] = similarity of class i to class j; finite.</param>
    /// <exception cref="ArgumentException">Sizes differ, a name repeats, or a value is not finite; the message names the entry.</exception>
    public ClassSimilarityTable(IReadOnlyList<string> classes, double[,] values)
    {
        ArgumentNullException.ThrowIfNull(classes);
        ArgumentNullException.ThrowIfNull(values);
        if (classes.Count == 0 || values.GetLength(0) != classes.Count || values.GetLength(1) != classes.Count)
        {
            throw new ArgumentException($"A class-similarity table over {classes.Count} classes needs a {classes.Count}×{classes.Count} matrix; got {values.GetLength(0)}×{values.GetLength(1)}.", nameof(values));
        }

        _index = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < classes.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(classes[i]) || !_index.TryAdd(classes[i].Trim(), i))
            {
                throw new ArgumentException($"Class {i + 1} ('{classes[i]}') is empty or repeats an earlier class.", nameof(classes));
            }

            for (int j = 0; j < classes.Count; j++)
            {
                if (!double.IsFinite(values[i, j]))
                {
                    throw new ArgumentException($"The similarity of '{classes[i]}' to '{classes[j]}' is not finite.", nameof(values));
                }
            }
        }

        Classes = classes.Select(c => c.Trim()).ToArray();
        _values = (double[,])values.Clone();
    }

    /// <inheritdoc />
    public string Name { get; init; } = "class-table";

    /// <summary>The class names, in table order.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The synthetic scenes' designed visual similarity (<see cref="VisualSimilarity"/>): ground truth on synthetic data.</summary>
    /// <returns>The table.</returns>
    public static ClassSimilarityTable SyntheticVisual()
    {
        var classes = AnatomyClasses.All;
        var values = new double[classes.Count, classes.Count];
        for (int i = 0; i < classes.Count; i++)
        {
            for (int j = 0; j < classes.Count; j++)
            {
                values[i, j] = VisualSimilarity.Of(classes[i], classes[j]);
            }
        }

        return new ClassSimilarityTable(classes, values) { Name = "visual-table" };
    }

    /// <summary>
    /// Reads a table from CSV: a header line <c>,ClassA,ClassB,…</c>, then one line per class <c>ClassA,1,0.3,…</c> in
    /// the same order as the header. Numbers use the invariant culture (a dot for decimals). Blank lines and lines
    /// starting with <c>#</c> are skipped.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>The table.</returns>
    /// <exception cref="InvalidDataException">The file is malformed; the message names the file, line and field.</exception>
    public static ClassSimilarityTable FromCsv(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var lines = File.ReadAllLines(path).Select((text, i) => (Text: text, Line: i + 1))
            .Where(l => l.Text.Trim().Length > 0 && !l.Text.TrimStart().StartsWith('#')).ToList();
        if (lines.Count == 0)
        {
            throw new InvalidDataException($"{path}: the file is empty; expected a header line ',ClassA,ClassB,…' and one line per class.");
        }

        var header = lines[0].Text.Split(',').Select(f => f.Trim()).ToArray();
        var classes = header.Skip(1).ToArray();
        if (classes.Length == 0)
        {
            throw new InvalidDataException($"{path} line {lines[0].Line}: the header names no classes.");
        }

        if (lines.Count - 1 != classes.Length)
        {
            throw new InvalidDataException($"{path}: the header names {classes.Length} classes but {lines.Count - 1} rows follow; one row per class is needed.");
        }

        var values = new double[classes.Length, classes.Length];
        for (int r = 0; r < classes.Length; r++)
        {
            var (text, line) = lines[r + 1];
            var fields = text.Split(',').Select(f => f.Trim()).ToArray();
            if (fields.Length != classes.Length + 1)
            {
                throw new InvalidDataException($"{path} line {line}: {fields.Length} fields; expected the class name and {classes.Length} numbers.");
            }

            if (!string.Equals(fields[0], classes[r], StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidDataException($"{path} line {line}, field 1: row class '{fields[0]}' should be '{classes[r]}' (rows follow the header's order).");
            }

            for (int c = 0; c < classes.Length; c++)
            {
                if (!double.TryParse(fields[c + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
                {
                    throw new InvalidDataException($"{path} line {line}, field {c + 2} ('{classes[c]}'): '{fields[c + 1]}' is not a finite number.");
                }

                values[r, c] = v;
            }
        }

        try
        {
            return new ClassSimilarityTable(classes, values);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    /// <summary>Loads a saved table (see <see cref="ComponentStore"/>).</summary>
    /// <param name="context">The load context.</param>
    /// <returns>The table.</returns>
    public static ClassSimilarityTable LoadComponent(ComponentLoadContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        string name = File.Exists(Path.Combine(context.Folder, "name.txt")) ? File.ReadAllText(Path.Combine(context.Folder, "name.txt")).Trim() : "class-table";
        var table = FromCsv(Path.Combine(context.Folder, TableFile));
        return new ClassSimilarityTable(table.Classes, table._values) { Name = name };
    }

    /// <inheritdoc />
    public void SaveComponent(string folder)
    {
        File.WriteAllText(Path.Combine(folder, TableFile), ToCsv());
        File.WriteAllText(Path.Combine(folder, "name.txt"), Name);
    }

    /// <summary>The table as CSV in the format <see cref="FromCsv"/> reads (round-trip exact).</summary>
    /// <returns>The CSV text.</returns>
    public string ToCsv()
    {
        var b = new StringBuilder();
        b.Append(',').AppendJoin(',', Classes).Append('\n');
        for (int i = 0; i < Classes.Count; i++)
        {
            b.Append(Classes[i]);
            for (int j = 0; j < Classes.Count; j++)
            {
                b.Append(',').Append(_values[i, j].ToString("R", CultureInfo.InvariantCulture));
            }

            b.Append('\n');
        }

        return b.ToString();
    }

    /// <inheritdoc />
    public float Similarity(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return (float)_values[IndexOf(a), IndexOf(b)];
    }

    private int IndexOf(string text) =>
        _index.TryGetValue(text.Trim(), out int i) ? i
        : throw new ArgumentException($"Option '{text}' is not a class of the similarity table ({string.Join(", ", Classes)}).", nameof(text));
}
