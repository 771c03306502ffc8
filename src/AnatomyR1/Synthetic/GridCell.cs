namespace AnatomyR1.Synthetic;

/// <summary>A cell of the 3×3 position grid: rows top/mid/bottom, columns left/mid/right; the middle cell is "centre".</summary>
/// <param name="Row">0 (top) to 2 (bottom).</param>
/// <param name="Col">0 (left) to 2 (right).</param>
public readonly record struct GridCell(int Row, int Col)
{
    private static readonly string[] RowNames = { "top", "mid", "bottom" };
    private static readonly string[] ColNames = { "left", "mid", "right" };

    /// <summary>All nine cells, row by row.</summary>
    public static IReadOnlyList<GridCell> All { get; } = Enumerable.Range(0, 9).Select(i => new GridCell(i / 3, i % 3)).ToArray();

    /// <summary>The name used in questions: <c>top-left</c> … <c>bottom-right</c>, and <c>centre</c>.</summary>
    public string Name => Row == 1 && Col == 1 ? "centre" : RowNames[Row] + "-" + ColNames[Col];

    /// <inheritdoc />
    public override string ToString() => Name;
}
