namespace AnatomyR1.Evaluation;

/// <summary>What a prediction line carries.</summary>
public enum PredictionKind
{
    /// <summary>A full model completion (<c>"completion"</c>), read with an answer extraction strategy.</summary>
    Completion,

    /// <summary>The chosen option letter (<c>"letter"</c>).</summary>
    Letter,

    /// <summary>The chosen answer text (<c>"answer"</c>).</summary>
    Answer,
}

/// <summary>
/// One line of a predictions JSONL file: <c>{"id": "...", "completion": "..."}</c> or <c>{"index": 17, "letter": "B"}</c>.
/// The record is matched by <c>id</c> (the sample id) or <c>index</c> (the record index in the data file).
/// </summary>
/// <param name="Line">One-based line in the file.</param>
/// <param name="Id">The sample id, or null.</param>
/// <param name="Index">The record index, or null.</param>
/// <param name="Kind">Which prediction field the line has.</param>
/// <param name="Value">The prediction text.</param>
public sealed record PredictionRecord(int Line, string? Id, int? Index, PredictionKind Kind, string Value);
