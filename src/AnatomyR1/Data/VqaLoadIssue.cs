using System.Globalization;
using System.Text;

namespace AnatomyR1.Data;

/// <summary>One problem found while loading: where it is (file, record, line, field) and what is wrong.</summary>
/// <param name="File">The file that holds the problem.</param>
/// <param name="RecordIndex">Zero-based record index in the file, or null when the problem is not inside a record.</param>
/// <param name="Line">One-based line, or null when unknown.</param>
/// <param name="Field">The field (JSON key, or column of a text line); null when the whole record or file is at fault.</param>
/// <param name="Message">What is wrong.</param>
public sealed record VqaLoadIssue(string File, int? RecordIndex, int? Line, string? Field, string Message)
{
    /// <summary>Formats the issue as <c>file: record N (line L), field 'F': message</c>.</summary>
    /// <returns>The formatted issue.</returns>
    public override string ToString()
    {
        var text = new StringBuilder(System.IO.Path.GetFileName(File));
        var where = new List<string>();
        if (RecordIndex is int record)
        {
            where.Add("record " + record.ToString(CultureInfo.InvariantCulture));
        }

        if (Line is int line)
        {
            where.Add((RecordIndex is null ? "line " : "(line ") + line.ToString(CultureInfo.InvariantCulture) + (RecordIndex is null ? string.Empty : ")"));
        }

        if (where.Count > 0)
        {
            text.Append(": ").Append(string.Join(' ', where));
        }

        if (Field is not null)
        {
            text.Append(where.Count > 0 ? ", " : ": ").Append("field '").Append(Field).Append('\'');
        }

        return text.Append(": ").Append(Message).ToString();
    }
}
