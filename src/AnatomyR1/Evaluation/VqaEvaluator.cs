using AnatomyR1.Data;
using AnatomyR1.Prompts;
using AnatomyR1.Rewards;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.Evaluation;

/// <summary>
/// Scores predictions. Input columns: <c>Options</c> (text vector), <c>CorrectIndex</c> (Int32), <c>Answer</c>
/// (text); optional <c>AnswerClass</c>, <c>QuestionFamily</c>, <c>Modality</c>, <c>QuestionType</c>; and at least one
/// prediction column: <c>PredictedLetter</c> (used first), <c>Completion</c> (read with the chosen strategy),
/// or <c>PredictedAnswer</c>. Open questions (no options) are right when the predicted answer text equals the
/// answer (case, spaces and underscores ignored).
/// </summary>
public sealed class VqaEvaluator
{
    private readonly VqaEvaluatorOptions _options;
    private readonly AnswerExtractor _extractor;

    /// <summary>Creates an evaluator.</summary>
    /// <param name="options">Options; null for the defaults.</param>
    public VqaEvaluator(VqaEvaluatorOptions? options = null)
    {
        _options = options ?? new VqaEvaluatorOptions();
        _extractor = new AnswerExtractor(_options.Strategy);
    }

    /// <summary>Evaluates a predictions data view.</summary>
    /// <param name="predictions">The rows with their predictions.</param>
    /// <returns>The metrics.</returns>
    /// <exception cref="ArgumentException">A required column is missing or has the wrong type.</exception>
    public VqaEvaluationResult Evaluate(IDataView predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        var schema = predictions.Schema;
        var options = RequireVector(schema, VqaColumns.Options);
        var correct = Require(schema, VqaColumns.CorrectIndex, NumberDataViewType.Int32);
        var answer = Require(schema, VqaColumns.Answer, TextDataViewType.Instance);
        var answerClass = Optional(schema, VqaColumns.AnswerClass);
        var family = Optional(schema, VqaColumns.QuestionFamily);
        var modality = Optional(schema, VqaColumns.Modality);
        var questionType = Optional(schema, VqaColumns.QuestionType);
        var completion = Optional(schema, _options.CompletionColumn);
        var letter = Optional(schema, _options.PredictedLetterColumn);
        var predictedAnswer = Optional(schema, _options.PredictedAnswerColumn);
        if (completion is null && letter is null && predictedAnswer is null)
        {
            throw new ArgumentException(
                $"The data has no prediction column: add '{_options.PredictedLetterColumn}', '{_options.CompletionColumn}' or '{_options.PredictedAnswerColumn}'.",
                nameof(predictions));
        }

        var columns = new[] { options, correct, answer, answerClass, family, modality, questionType, completion, letter, predictedAnswer }
            .Where(c => c is not null).Select(c => c!.Value);
        var builder = new Builder(completion is not null);
        using var cursor = predictions.GetRowCursor(columns);
        var getOptions = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(options);
        var getCorrect = cursor.GetGetter<int>(correct);
        var getAnswer = Text(cursor, answer);
        var getClass = Text(cursor, answerClass);
        var getFamily = Text(cursor, family);
        var getModality = Text(cursor, modality);
        var getType = Text(cursor, questionType);
        var getCompletion = Text(cursor, completion);
        var getLetter = Text(cursor, letter);
        var getPredictedAnswer = Text(cursor, predictedAnswer);
        var buffer = default(VBuffer<ReadOnlyMemory<char>>);
        int correctIndex = 0;
        while (cursor.MoveNext())
        {
            getOptions(ref buffer);
            getCorrect(ref correctIndex);
            var optionTexts = buffer.DenseValues().Select(v => v.ToString()).ToArray();
            string answerText = getAnswer();
            string? completionText = completion is null ? null : getCompletion();
            string truthClass = getClass() is { Length: > 0 } c ? c : answerText;

            bool isCorrect;
            string predictedClass;
            if (optionTexts.Length > 0 && correctIndex >= 0)
            {
                int chosen = letter is not null ? LetterIndex(getLetter(), optionTexts.Length)
                    : completionText is not null ? _extractor.Extract(completionText, optionTexts).Index
                    : AnswerExtractor.MatchOption(getPredictedAnswer(), optionTexts);
                isCorrect = chosen == correctIndex;
                predictedClass = chosen >= 0 ? optionTexts[chosen] : ConfusionMatrix.NoAnswer;
            }
            else
            {
                string? predicted = predictedAnswer is not null ? getPredictedAnswer()
                    : completionText is not null ? AnswerExtractor.AnswerTagContent(completionText) : null;
                isCorrect = !string.IsNullOrWhiteSpace(predicted) && OptionChecks.Key(predicted) == OptionChecks.Key(answerText);
                predictedClass = string.IsNullOrWhiteSpace(predicted) ? ConfusionMatrix.NoAnswer : OptionChecks.DisplayClass(predicted);
            }

            builder.Add(isCorrect, truthClass, predictedClass, getFamily(), getModality(), getType(),
                completionText is not null && FormatReward.Matches(completionText));
        }

        return builder.Build();
    }

    private static int LetterIndex(string letter, int count)
    {
        char? parsed = OptionChecks.ParseLetter(letter);
        int index = parsed is char c ? c - 'A' : -1;
        return index >= 0 && index < count ? index : -1;
    }

    private static DataViewSchema.Column Require(DataViewSchema schema, string name, DataViewType type)
    {
        var column = schema.GetColumnOrNull(name) ?? throw new ArgumentException($"The data has no '{name}' column.");
        if (!column.Type.Equals(type))
        {
            throw new ArgumentException($"Column '{name}' has type {column.Type}; expected {type}.");
        }

        return column;
    }

    private static DataViewSchema.Column RequireVector(DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name) ?? throw new ArgumentException($"The data has no '{name}' column.");
        if (column.Type is not VectorDataViewType { ItemType: TextDataViewType })
        {
            throw new ArgumentException($"Column '{name}' has type {column.Type}; expected a vector of text.");
        }

        return column;
    }

    private static DataViewSchema.Column? Optional(DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name);
        if (column is null)
        {
            return null;
        }

        if (column.Value.Type is not TextDataViewType)
        {
            throw new ArgumentException($"Column '{name}' has type {column.Value.Type}; expected text.");
        }

        return column;
    }

    private static Func<string> Text(DataViewRowCursor cursor, DataViewSchema.Column? column)
    {
        if (column is null)
        {
            return () => string.Empty;
        }

        var getter = cursor.GetGetter<ReadOnlyMemory<char>>(column.Value);
        return () =>
        {
            ReadOnlyMemory<char> value = default;
            getter(ref value);
            return value.ToString();
        };
    }

    private sealed class Builder
    {
        private readonly bool _hasCompletions;
        private readonly Dictionary<string, int[]> _byClass = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int[]> _byFamily = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int[]> _byModality = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int[]> _byType = new(StringComparer.Ordinal);
        private readonly Dictionary<(string, string), int> _confusion = new();
        private int _count;
        private int _correct;
        private int _unanswered;
        private int _formatted;

        public Builder(bool hasCompletions) => _hasCompletions = hasCompletions;

        public void Add(bool correct, string truth, string predicted, string family, string modality, string type, bool formatted)
        {
            _count++;
            _correct += correct ? 1 : 0;
            _unanswered += predicted == ConfusionMatrix.NoAnswer ? 1 : 0;
            _formatted += formatted ? 1 : 0;
            Bump(_byClass, truth, correct);
            Bump(_byFamily, family, correct);
            Bump(_byModality, modality, correct);
            Bump(_byType, type, correct);
            _confusion[(truth, predicted)] = _confusion.GetValueOrDefault((truth, predicted)) + 1;
        }

        public VqaEvaluationResult Build()
        {
            var labels = _confusion.Keys.SelectMany(k => new[] { k.Item1, k.Item2 })
                .Where(l => l != ConfusionMatrix.NoAnswer).Distinct().Order(StringComparer.Ordinal).ToList();
            if (_confusion.Keys.Any(k => k.Item2 == ConfusionMatrix.NoAnswer))
            {
                labels.Add(ConfusionMatrix.NoAnswer);
            }

            var counts = labels.Select(t => (IReadOnlyList<int>)labels.Select(p => _confusion.GetValueOrDefault((t, p))).ToArray()).ToArray();
            return new VqaEvaluationResult
            {
                Overall = new GroupAccuracy(_count, _correct),
                Unanswered = _unanswered,
                FormatCompliance = _hasCompletions ? (_count == 0 ? 0 : (double)_formatted / _count) : null,
                ByClass = Freeze(_byClass),
                ByFamily = Freeze(_byFamily),
                ByModality = Freeze(_byModality),
                ByQuestionType = Freeze(_byType),
                Confusion = new ConfusionMatrix(labels, counts),
            };
        }

        private static void Bump(Dictionary<string, int[]> groups, string key, bool correct)
        {
            if (key.Length == 0)
            {
                return;
            }

            if (!groups.TryGetValue(key, out var counts))
            {
                groups[key] = counts = new int[2];
            }

            counts[0]++;
            counts[1] += correct ? 1 : 0;
        }

        private static SortedDictionary<string, GroupAccuracy> Freeze(Dictionary<string, int[]> groups) =>
            new(groups.ToDictionary(g => g.Key, g => new GroupAccuracy(g.Value[0], g.Value[1])), StringComparer.Ordinal);
    }
}
