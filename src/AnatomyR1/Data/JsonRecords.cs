using System.Text.Json;

namespace AnatomyR1.Data;

/// <summary>
/// Reads a JSON array of records from UTF-8 bytes, keeping each record's index and starting line so that errors
/// can name them. Malformed or truncated JSON is reported with the record it broke and its line and column.
/// </summary>
internal static class JsonRecords
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { CommentHandling = JsonCommentHandling.Skip };

    /// <summary>
    /// A record: its element (valid until the owning list is disposed), index and one-based line, and, when the record
    /// holds text that is not valid UTF-8, the issue that says where (its element is then a sanitized stand-in).
    /// </summary>
    internal readonly record struct Record(JsonElement Element, int Index, int Line, VqaLoadIssue? Invalid = null);

    /// <summary>The parsed records, owning their documents.</summary>
    internal sealed class RecordList : IDisposable
    {
        private readonly List<JsonDocument> _documents = new();

        public List<Record> Records { get; } = new();

        public void Add(JsonDocument document, int index, int line)
        {
            _documents.Add(document);
            Records.Add(new Record(document.RootElement, index, line));
        }

        public void Dispose()
        {
            foreach (var document in _documents)
            {
                document.Dispose();
            }
        }
    }

    /// <summary>
    /// Parses the array. Throws <see cref="VqaDataException"/> for JSON that is not a well-formed array, and for text
    /// that is not valid UTF-8 where the invalid bytes cannot be confined to one element of the array. Invalid bytes
    /// inside an element mark that element's <see cref="Record.Invalid"/> and leave the others intact.
    /// </summary>
    public static RecordList Parse(Utf8Text text, string file)
    {
        var list = new RecordList();
        var span = text.Sanitized().Span;
        if (span.Trim(" \t\r\n"u8).IsEmpty)
        {
            list.Dispose();
            throw new VqaDataException(new VqaLoadIssue(file, null, 1, null, "the file is empty; expected a JSON array of records"));
        }

        var reader = new Utf8JsonReader(span, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        var extents = new List<(long Start, long End)>();
        int index = 0;
        int line = 1;
        long counted = 0;
        try
        {
            if (!reader.Read())
            {
                throw new VqaDataException(new VqaLoadIssue(file, null, 1, null, "the file is empty; expected a JSON array of records"));
            }

            if (reader.TokenType != JsonTokenType.StartArray)
            {
                throw new VqaDataException(new VqaLoadIssue(file, null, LineAt(span, reader.TokenStartIndex), null,
                    $"expected a JSON array of records at the top level, found {Describe(reader.TokenType)}"));
            }

            while (true)
            {
                if (!reader.Read())
                {
                    throw new VqaDataException(new VqaLoadIssue(file, index, null, null, "the file ends inside the top-level array (truncated?)"));
                }

                if (reader.TokenType == JsonTokenType.EndArray)
                {
                    break;
                }

                long start = reader.TokenStartIndex;
                line += span.Slice((int)counted, (int)(start - counted)).Count((byte)'\n');
                counted = start;
                var document = JsonDocument.ParseValue(ref reader);
                list.Add(document, index, line);
                extents.Add((start, reader.BytesConsumed));
                index++;
            }

            if (reader.Read())
            {
                throw new VqaDataException(new VqaLoadIssue(file, null, LineAt(span, reader.TokenStartIndex), null,
                    "unexpected content after the top-level array"));
            }

            MarkInvalidRecords(list, extents, text, file);
            return list;
        }
        catch (JsonException ex)
        {
            list.Dispose();
            int? errorLine = ex.LineNumber is long l ? (int)l + 1 : null;
            foreach (var fault in text.Faults)
            {
                if (fault.Line == errorLine)
                {
                    // The invalid bytes break the JSON around them (the parse fails on their line).
                    throw Unconfined(fault, text, file, ex);
                }
            }

            string column = ex.BytePositionInLine is long c ? $", byte {c + 1} of the line" : string.Empty;
            string message = ex.Message;
            int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut > 0)
            {
                message = message[..cut].TrimEnd();
            }

            throw new VqaDataException(new VqaLoadIssue(file, index, errorLine, null,
                $"malformed JSON{column}: {message}"), ex);
        }
        catch
        {
            list.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Gives each record that holds invalid text an issue naming the first invalid sequence; throws when a sequence
    /// lies outside every record (between records, in a comment, around the array), where no record can be skipped.
    /// </summary>
    private static void MarkInvalidRecords(RecordList list, List<(long Start, long End)> extents, Utf8Text text, string file)
    {
        int r = 0;
        var faults = text.Faults;
        for (int f = 0; f < faults.Count;)
        {
            var fault = faults[f];
            while (r < extents.Count && extents[r].End <= fault.Offset)
            {
                r++;
            }

            if (r == extents.Count || extents[r].Start > fault.Offset)
            {
                throw Unconfined(fault, text, file, null);
            }

            int more = 0;
            while (f + 1 + more < faults.Count && faults[f + 1 + more].Offset < extents[r].End)
            {
                more++;
            }

            var record = list.Records[r];
            list.Records[r] = record with
            {
                Invalid = new VqaLoadIssue(file, record.Index, fault.Line, null, Utf8Text.Describe(fault, more)),
            };
            f += 1 + more;
        }
    }

    private static VqaDataException Unconfined(Utf8Fault fault, Utf8Text text, string file, Exception? inner) =>
        new(new VqaLoadIssue(file, null, fault.Line, null,
            Utf8Text.Describe(fault, text.Faults.Count - 1)
            + "; it is not inside one record of the array, so no single record can be skipped and the file cannot be loaded in either mode"), inner);

    private static int LineAt(ReadOnlySpan<byte> span, long offset) => span[..(int)Math.Min(offset, span.Length)].Count((byte)'\n') + 1;

    private static string Describe(JsonTokenType type) => type switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => type.ToString(),
    };

    /// <summary>
    /// Throws a <see cref="RecordError"/> naming the key when one object (the record, or an object nested in it) has
    /// the same key twice: which of the values was meant cannot be told, and readers would silently take one.
    /// </summary>
    public static void CheckDuplicateKeys(JsonElement element, string? path = null)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            HashSet<string>? seen = null;
            foreach (var property in element.EnumerateObject())
            {
                seen ??= new HashSet<string>(StringComparer.Ordinal);
                string field = path is null ? property.Name : path + "." + property.Name;
                if (!seen.Add(property.Name))
                {
                    throw new RecordError(field, "the key appears more than once in one object");
                }

                CheckDuplicateKeys(property.Value, field);
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var item in element.EnumerateArray())
            {
                CheckDuplicateKeys(item, (path ?? string.Empty) + "[" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]");
                i++;
            }
        }
    }

    /// <summary>Reads an optional string field; a present non-string value is an error naming the field.</summary>
    public static string? OptionalString(JsonElement record, string field)
    {
        if (!record.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw new RecordError(field, $"expected a string, found {KindName(value.ValueKind)}");
        }

        return value.GetString();
    }

    /// <summary>Reads a required string field.</summary>
    public static string RequiredString(JsonElement record, string field) =>
        OptionalString(record, field) ?? throw new RecordError(field, "the field is missing");

    /// <summary>Reads an optional field that may be a string or a number, as text.</summary>
    public static string? OptionalScalar(JsonElement record, string field)
    {
        if (!record.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => throw new RecordError(field, $"expected a string or a number, found {KindName(value.ValueKind)}"),
        };
    }

    public static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
