using System.Text;
using System.Text.Json;

namespace AnatomyR1.Data;

/// <summary>
/// Reads a JSON array of records from UTF-8 bytes, keeping each record's index and starting line so that errors
/// can name them. Malformed or truncated JSON is reported with the record it broke and its line and column.
/// </summary>
internal static class JsonRecords
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { CommentHandling = JsonCommentHandling.Skip };

    /// <summary>A record: its element (valid until the owning list is disposed), index and one-based line.</summary>
    internal readonly record struct Record(JsonElement Element, int Index, int Line);

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

    /// <summary>Decodes file bytes to UTF-8 without a byte-order mark (UTF-8, UTF-16 LE/BE BOMs are accepted).</summary>
    public static ReadOnlyMemory<byte> ToUtf8(byte[] bytes)
    {
        if (bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF)
        {
            return bytes.AsMemory(3);
        }

        if (bytes.Length >= 2 && bytes[0] == 0xFF && bytes[1] == 0xFE)
        {
            return Encoding.UTF8.GetBytes(Encoding.Unicode.GetString(bytes, 2, bytes.Length - 2));
        }

        if (bytes.Length >= 2 && bytes[0] == 0xFE && bytes[1] == 0xFF)
        {
            return Encoding.UTF8.GetBytes(Encoding.BigEndianUnicode.GetString(bytes, 2, bytes.Length - 2));
        }

        return bytes;
    }

    /// <summary>Parses the array. Throws <see cref="VqaDataException"/> for JSON that is not a well-formed array.</summary>
    public static RecordList Parse(ReadOnlyMemory<byte> utf8, string file)
    {
        var list = new RecordList();
        var span = utf8.Span;
        if (span.Trim(" \t\r\n"u8).IsEmpty)
        {
            list.Dispose();
            throw new VqaDataException(new VqaLoadIssue(file, null, 1, null, "the file is empty; expected a JSON array of records"));
        }

        var reader = new Utf8JsonReader(span, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
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
                index++;
            }

            if (reader.Read())
            {
                throw new VqaDataException(new VqaLoadIssue(file, null, LineAt(span, reader.TokenStartIndex), null,
                    "unexpected content after the top-level array"));
            }

            return list;
        }
        catch (JsonException ex)
        {
            list.Dispose();
            int? errorLine = ex.LineNumber is long l ? (int)l + 1 : null;
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
