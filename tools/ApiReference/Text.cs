using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace ApiReference;

/// <summary>Renders XML documentation elements as one line of Markdown.</summary>
internal static partial class Text
{
    public static string Render(XElement element)
    {
        var text = new StringBuilder();
        Append(text, element);
        return Spaces().Replace(text.ToString(), " ").Trim();
    }

    /// <summary>The short name of a documentation id: <c>T:A.B.C</c> → <c>C</c>, <c>M:A.B.C.D(System.Int32)</c> → <c>C.D</c>.</summary>
    public static string ShortName(string id)
    {
        string name = id.Length > 2 && id[1] == ':' ? id[2..] : id;
        int paren = name.IndexOf('(', StringComparison.Ordinal);
        if (paren >= 0)
        {
            name = name[..paren];
        }

        name = Arity().Replace(name, string.Empty).Replace("#ctor", "ctor", StringComparison.Ordinal);
        var parts = name.Split('.');
        bool member = id.Length > 1 && id[0] is 'M' or 'P' or 'F' or 'E';
        return member && parts.Length >= 2 ? parts[^2] + "." + parts[^1] : parts[^1];
    }

    private static void Append(StringBuilder text, XElement element)
    {
        foreach (var node in element.Nodes())
        {
            switch (node)
            {
                case XText t:
                    text.Append(t.Value);
                    break;
                case XElement e when e.Name == "see" || e.Name == "seealso":
                    string? cref = (string?)e.Attribute("cref");
                    string? langword = (string?)e.Attribute("langword");
                    string? href = (string?)e.Attribute("href");
                    text.Append(e.Value.Length > 0 ? e.Value
                        : cref is not null ? $"`{ShortName(cref)}`"
                        : langword is not null ? $"`{langword}`"
                        : href ?? string.Empty);
                    break;
                case XElement e when e.Name == "paramref" || e.Name == "typeparamref":
                    text.Append('`').Append((string?)e.Attribute("name")).Append('`');
                    break;
                case XElement e when e.Name == "c" || e.Name == "code":
                    text.Append('`').Append(Spaces().Replace(e.Value, " ").Trim()).Append('`');
                    break;
                case XElement e when e.Name == "para" || e.Name == "br":
                    text.Append(' ');
                    Append(text, e);
                    text.Append(' ');
                    break;
                case XElement e when e.Name == "item":
                    text.Append(" • ");
                    Append(text, e);
                    break;
                case XElement e:
                    Append(text, e);
                    break;
            }
        }
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"`+\d+")]
    private static partial Regex Arity();
}
