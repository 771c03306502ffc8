using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace AnatomyR1.Extensions.AI;

/// <summary>
/// A multiple-choice anatomy question read from chat messages: the image of the last user message, its question text
/// and its answer options. <see cref="Create"/> writes a message this class reads back unchanged.
/// </summary>
public sealed partial class VqaChatRequest
{
    private VqaChatRequest(ReadOnlyMemory<byte> image, string imageName, string question, IReadOnlyList<string> options)
    {
        Image = image;
        ImageName = imageName;
        Question = question;
        Options = options;
    }

    /// <summary>The encoded image (PNG, JPEG, BMP, GIF or WebP).</summary>
    public ReadOnlyMemory<byte> Image { get; }

    /// <summary>What the image is called in error messages (its content name, file or media type).</summary>
    public string ImageName { get; }

    /// <summary>The question without its option lines.</summary>
    public string Question { get; }

    /// <summary>The answer options in order (A, B, …).</summary>
    public IReadOnlyList<string> Options { get; }

    /// <summary>
    /// Writes a user message with the image and the question, one option per line as <c>A. Liver</c>.
    /// </summary>
    /// <param name="image">The encoded image.</param>
    /// <param name="mediaType">Its media type, e.g. <c>image/png</c>.</param>
    /// <param name="question">The question.</param>
    /// <param name="options">Two to 26 answer options.</param>
    /// <returns>The message.</returns>
    /// <exception cref="ArgumentException">The media type is not an image type, or there are fewer than 2 or more than 26 options.</exception>
    public static ChatMessage Create(ReadOnlyMemory<byte> image, string mediaType, string question, IReadOnlyList<string> options)
    {
        ArgumentNullException.ThrowIfNull(mediaType);
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(options);
        if (!mediaType.StartsWith("image/", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"'{mediaType}' is not an image media type.", nameof(mediaType));
        }

        CheckOptions(options, nameof(options));
        var text = new StringBuilder(question.Trim()).Append('\n');
        for (int i = 0; i < options.Count; i++)
        {
            text.Append((char)('A' + i)).Append(". ").Append(options[i].Trim()).Append('\n');
        }

        return new ChatMessage(ChatRole.User, new List<AIContent> { new DataContent(image, mediaType), new TextContent(text.ToString().TrimEnd()) });
    }

    /// <summary>
    /// Reads the question from the last user message. The image is the message's last image content: a
    /// <see cref="DataContent"/> (bytes or a <c>data:</c> URI) or a <see cref="UriContent"/> naming a local file. The
    /// options come from <paramref name="chatOptions"/>' <see cref="AnatomyR1ChatClient.OptionsProperty"/> entry when it
    /// is present; otherwise from the message's text, one per line as <c>A. Liver</c>, <c>A) Liver</c>, <c>(A) Liver</c>
    /// or <c>Liver, option A</c>, lettered from A without gaps. All other lines (an <c>Options:</c> header excepted) are
    /// the question. System and assistant messages are ignored: the policy was trained on one fixed prompt form.
    /// </summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="chatOptions">The request options, or null.</param>
    /// <returns>The question.</returns>
    /// <exception cref="ArgumentException">No user message, no image, an unreadable image file, no question text, or no valid option list.</exception>
    public static VqaChatRequest From(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var user = messages.LastOrDefault(m => m.Role == ChatRole.User)
            ?? throw new ArgumentException("The conversation has no user message; the question, its image and its options go in the last user message.", nameof(messages));

        ReadOnlyMemory<byte>? image = null;
        string imageName = "image";
        foreach (var content in user.Contents)
        {
            switch (content)
            {
                case DataContent data when data.HasTopLevelMediaType("image"):
                    image = data.Data;
                    imageName = data.Name ?? $"{data.MediaType} image";
                    break;
                case UriContent uri when uri.HasTopLevelMediaType("image"):
                    if (!uri.Uri.IsFile)
                    {
                        throw new ArgumentException($"The image '{uri.Uri}' is not a local file; nothing is downloaded: pass the bytes as DataContent.", nameof(messages));
                    }

                    string path = uri.Uri.LocalPath;
                    if (!File.Exists(path))
                    {
                        throw new ArgumentException($"The image file '{path}' does not exist.", nameof(messages));
                    }

                    image = File.ReadAllBytes(path);
                    imageName = path;
                    break;
            }
        }

        if (image is null)
        {
            throw new ArgumentException("The last user message has no image: add a DataContent with an image/* media type (or a UriContent naming a local image file).", nameof(messages));
        }

        string text = string.Join("\n", user.Contents.OfType<TextContent>().Select(t => t.Text)).Replace("\r\n", "\n", StringComparison.Ordinal);
        IReadOnlyList<string>? options = OptionsFrom(chatOptions);
        string question;
        if (options is not null)
        {
            question = text.Trim();
        }
        else
        {
            (question, options) = SplitOptions(text);
            if (options.Count == 0)
            {
                throw new ArgumentException(
                    $"The last user message names no answer options: write them one per line as 'A. Liver', 'B. Gut', … or pass them as a string list in ChatOptions.AdditionalProperties[\"{AnatomyR1ChatClient.OptionsProperty}\"].",
                    nameof(messages));
            }
        }

        CheckOptions(options, nameof(messages));
        if (question.Length == 0)
        {
            throw new ArgumentException("The last user message has no question text.", nameof(messages));
        }

        return new VqaChatRequest(image.Value, imageName, question, options);
    }

    private static IReadOnlyList<string>? OptionsFrom(ChatOptions? chatOptions)
    {
        if (chatOptions?.AdditionalProperties is not { } extra || !extra.TryGetValue(AnatomyR1ChatClient.OptionsProperty, out object? value) || value is null)
        {
            return null;
        }

        return value switch
        {
            string s => throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{AnatomyR1ChatClient.OptionsProperty}\"] must be a list of option strings, not one string ('{s}')."),
            IEnumerable<string> list => list.ToList(),
            System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.Array } json => json.EnumerateArray().Select(e => e.GetString() ?? string.Empty).ToList(),
            _ => throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{AnatomyR1ChatClient.OptionsProperty}\"] must be a list of option strings (got {value.GetType().Name})."),
        };
    }

    private static (string Question, IReadOnlyList<string> Options) SplitOptions(string text)
    {
        var questionLines = new List<string>();
        var options = new List<string>();
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || HeaderLine().IsMatch(line))
            {
                continue;
            }

            var lettered = LetteredOption().Match(line);
            var trailing = TrailingOption().Match(line);
            char? letter = lettered.Success ? char.ToUpperInvariant(lettered.Groups["letter"].Value[0])
                : trailing.Success ? char.ToUpperInvariant(trailing.Groups["letter"].Value[0]) : null;
            if (letter == (char)('A' + options.Count))
            {
                options.Add((lettered.Success ? lettered.Groups["text"].Value : trailing.Groups["text"].Value).Trim());
                continue;
            }

            if (options.Count > 0 && letter is not null)
            {
                throw new ArgumentException($"Option line '{line}' is out of order: expected option {(char)('A' + options.Count)}.");
            }

            questionLines.Add(line);
        }

        return (string.Join(" ", questionLines), options);
    }

    private static void CheckOptions(IReadOnlyList<string> options, string parameter)
    {
        if (options.Count < 2 || options.Count > 26)
        {
            throw new ArgumentException($"A multiple-choice question needs 2 to 26 options (got {options.Count}).", parameter);
        }

        for (int i = 0; i < options.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options[i]))
            {
                throw new ArgumentException($"Option {(char)('A' + i)} is empty.", parameter);
            }
        }
    }

    [GeneratedRegex(@"^(options|choices)\s*:?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex HeaderLine();

    [GeneratedRegex(@"^\(?(?<letter>[A-Za-z])[\.\):]\s+(?<text>.+)$", RegexOptions.CultureInvariant)]
    private static partial Regex LetteredOption();

    [GeneratedRegex(@"^(?<text>.+), option (?<letter>[A-Z])$", RegexOptions.CultureInvariant)]
    private static partial Regex TrailingOption();
}
