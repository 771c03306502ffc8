using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace AnatomyR1.Data;

/// <summary>
/// A data file's bytes as UTF-8, decoded strictly: a UTF-8 byte-order mark is dropped, UTF-16 with a byte-order mark
/// is transcoded, and every sequence that is not valid text is kept in place and listed (with its line and byte
/// offset) instead of being replaced silently. Readers decide what an invalid sequence costs: the record holding it,
/// or the whole file.
/// </summary>
internal sealed class Utf8Text
{
    /// <summary>The byte written into the transcoded text where UTF-16 input was invalid (never valid in UTF-8).</summary>
    private const byte InvalidMarker = 0xFF;

    private Utf8Text(ReadOnlyMemory<byte> bytes, List<Utf8Fault> faults)
    {
        Bytes = bytes;
        Faults = faults;
    }

    /// <summary>The text as UTF-8 without a byte-order mark; invalid sequences are still in it, at <see cref="Faults"/>.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>The invalid sequences, in file order.</summary>
    public IReadOnlyList<Utf8Fault> Faults { get; }

    /// <summary>Whether the whole text is valid.</summary>
    public bool IsValid => Faults.Count == 0;

    /// <summary>Decodes file bytes: UTF-8 with or without a byte-order mark, or UTF-16 LE/BE with one.</summary>
    public static Utf8Text Decode(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length >= 2 && bytes[0] == 0xFF && bytes[1] == 0xFE)
        {
            return FromUtf16(bytes, bigEndian: false);
        }

        if (bytes.Length >= 2 && bytes[0] == 0xFE && bytes[1] == 0xFF)
        {
            return FromUtf16(bytes, bigEndian: true);
        }

        int start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        var text = bytes.AsMemory(start);
        return new Utf8Text(text, FindInvalidUtf8(text.Span, start));
    }

    /// <summary>
    /// A copy of <see cref="Bytes"/> in which every byte of an invalid sequence is replaced by <c>_</c>, so that it
    /// can be parsed; offsets and lines are unchanged. Returns <see cref="Bytes"/> itself when the text is valid.
    /// </summary>
    public ReadOnlyMemory<byte> Sanitized()
    {
        if (IsValid)
        {
            return Bytes;
        }

        byte[] copy = Bytes.ToArray();
        foreach (var fault in Faults)
        {
            copy.AsSpan(fault.Offset, fault.Length).Fill((byte)'_');
        }

        return copy;
    }

    /// <summary>
    /// The valid text as a string. Throws <see cref="VqaDataException"/> naming the file, line and byte offset of the
    /// first invalid sequence when there is one.
    /// </summary>
    public string ToStringOrThrow(string file)
    {
        if (!IsValid)
        {
            var first = Faults[0];
            throw new VqaDataException(new VqaLoadIssue(file, null, first.Line, null, Describe(first, Faults.Count - 1)));
        }

        return Encoding.UTF8.GetString(Bytes.Span);
    }

    /// <summary>
    /// Describes a fault for an issue message (the line is carried by the issue): the bytes, where they are in the
    /// line and in the file, and <paramref name="more"/> further faults in the same record or file.
    /// </summary>
    public static string Describe(Utf8Fault fault, int more)
    {
        var text = new StringBuilder(fault.Utf16 ? "invalid UTF-16 (" : "invalid UTF-8 (")
            .Append(fault.Bytes).Append(')');
        text.Append(" at ");
        if (fault.Column is int column)
        {
            text.Append("byte ").Append(column.ToString(CultureInfo.InvariantCulture)).Append(" of the line, ");
        }

        text.Append("byte offset ").Append(fault.FileOffset.ToString(CultureInfo.InvariantCulture)).Append(" of the file");
        if (more > 0)
        {
            text.Append(", and ").Append(more.ToString(CultureInfo.InvariantCulture)).Append(more == 1 ? " more invalid sequence" : " more invalid sequences");
        }

        return text.Append("; the file must be UTF-8 (or UTF-16 with a byte-order mark)").ToString();
    }

    private static List<Utf8Fault> FindInvalidUtf8(ReadOnlySpan<byte> text, int fileOffset)
    {
        var faults = new List<Utf8Fault>();
        if (Utf8.IsValid(text))
        {
            return faults;
        }

        char[] buffer = ArrayPool<char>.Shared.Rent(4096);
        try
        {
            int position = 0;
            var lines = new LineCounter();
            while (position < text.Length)
            {
                var status = Utf8.ToUtf16(text[position..], buffer, out int read, out _, replaceInvalidSequences: false, isFinalBlock: true);
                position += read;
                if (status != OperationStatus.InvalidData)
                {
                    continue;
                }

                Rune.DecodeFromUtf8(text[position..], out _, out int length);
                length = Math.Max(1, length);
                var (line, lineStart) = lines.At(text, position);
                string shown = string.Join(' ', text.Slice(position, length).ToArray().Select(b => "0x" + b.ToString("X2", CultureInfo.InvariantCulture)));
                faults.Add(new Utf8Fault(position, length, line, position - lineStart + 1, fileOffset + position, shown, Utf16: false));
                position += length;
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }

        return faults;
    }

    /// <summary>
    /// Transcodes UTF-16 to UTF-8, writing <see cref="InvalidMarker"/> for each unpaired surrogate and for an odd
    /// trailing byte, and listing them with their offsets in the original file.
    /// </summary>
    private static Utf8Text FromUtf16(byte[] bytes, bool bigEndian)
    {
        int units = (bytes.Length - 2) / 2;
        var chars = new char[units];
        for (int i = 0; i < units; i++)
        {
            var pair = bytes.AsSpan(2 + (2 * i), 2);
            chars[i] = (char)(bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(pair) : BinaryPrimitives.ReadUInt16LittleEndian(pair));
        }

        var output = new byte[(units * 3) + 1];
        var marks = new List<(int Offset, long FileOffset, string Shown)>();
        int read = 0;
        int written = 0;
        while (read < units)
        {
            var status = Utf8.FromUtf16(chars.AsSpan(read), output.AsSpan(written), out int r, out int w, replaceInvalidSequences: false, isFinalBlock: true);
            read += r;
            written += w;
            if (status == OperationStatus.InvalidData)
            {
                marks.Add((written, 2 + (2L * read), "an unpaired surrogate 0x" + ((int)chars[read]).ToString("X4", CultureInfo.InvariantCulture)));
                output[written++] = InvalidMarker;
                read++;
            }
        }

        if ((bytes.Length - 2) % 2 == 1)
        {
            marks.Add((written, bytes.Length - 1, "an odd byte at the end of the file"));
            output[written++] = InvalidMarker;
        }

        var text = output.AsMemory(0, written);
        var faults = new List<Utf8Fault>(marks.Count);
        var lines = new LineCounter();
        foreach (var (offset, fileOffset, shown) in marks)
        {
            faults.Add(new Utf8Fault(offset, 1, lines.At(text.Span, offset).Line, null, fileOffset, shown, Utf16: true));
        }

        return new Utf8Text(text, faults);
    }

    /// <summary>Counts lines forward through a text, for offsets given in increasing order.</summary>
    private struct LineCounter
    {
        private int _counted;
        private int _line;
        private int _lineStart;

        public (int Line, int LineStart) At(ReadOnlySpan<byte> text, int offset)
        {
            if (_line == 0)
            {
                _line = 1;
            }

            for (; _counted < offset; _counted++)
            {
                if (text[_counted] == (byte)'\n')
                {
                    _line++;
                    _lineStart = _counted + 1;
                }
            }

            return (_line, _lineStart);
        }
    }
}

/// <summary>One invalid sequence in a <see cref="Utf8Text"/>.</summary>
/// <param name="Offset">Where it starts in <see cref="Utf8Text.Bytes"/>.</param>
/// <param name="Length">Its length there, in bytes.</param>
/// <param name="Line">The one-based line that holds it.</param>
/// <param name="Column">The one-based byte of that line where it starts (UTF-8 files only).</param>
/// <param name="FileOffset">Where it starts in the file, counting a byte-order mark.</param>
/// <param name="Bytes">The bytes (or, for UTF-16, the code unit) as text.</param>
/// <param name="Utf16">Whether the file is UTF-16.</param>
internal readonly record struct Utf8Fault(int Offset, int Length, int Line, int? Column, long FileOffset, string Bytes, bool Utf16);
