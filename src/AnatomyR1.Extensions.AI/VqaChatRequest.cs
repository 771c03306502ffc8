using System.Text;
using System.Text.RegularExpressions;
using AnatomyR1.IO;
using Microsoft.Extensions.AI;

namespace AnatomyR1.Extensions.AI;

/// <summary>
/// A multiple-choice anatomy question read from chat messages: the image of the last user message, its question text
/// and its answer options. <see cref="Create"/> writes a message that <see cref="From(IEnumerable{ChatMessage}, ChatOptions?)"/>
/// reads back as the same options and the same question (its lines joined by single spaces).
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
    /// <exception cref="ArgumentException">The media type is not an image type, the question is empty, there are fewer
    /// than 2 or more than 26 options, or an option is empty or spans lines.</exception>
    public static ChatMessage Create(ReadOnlyMemory<byte> image, string mediaType, string question, IReadOnlyList<string> options)
    {
        ArgumentNullException.ThrowIfNull(mediaType);
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(options);
        if (!mediaType.StartsWith("image/", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"'{mediaType}' is not an image media type.", nameof(mediaType));
        }

        if (string.IsNullOrWhiteSpace(question))
        {
            throw new ArgumentException("The question is empty.", nameof(question));
        }

        CheckOptions(options, nameof(options));
        if (options.FirstOrDefault(o => o.Contains('\n', StringComparison.Ordinal)) is { } multiLine)
        {
            throw new ArgumentException($"Option '{multiLine}' spans several lines; options are written one per line.", nameof(options));
        }
        var text = new StringBuilder(question.Trim()).Append('\n');
        for (int i = 0; i < options.Count; i++)
        {
            text.Append((char)('A' + i)).Append(". ").Append(options[i].Trim()).Append('\n');
        }

        return new ChatMessage(ChatRole.User, new List<AIContent> { new DataContent(image, mediaType), new TextContent(text.ToString().TrimEnd()) });
    }

    /// <summary>
    /// Reads the question from the last user message, refusing local image files (see
    /// <see cref="From(IEnumerable{ChatMessage}, ChatOptions?, AnatomyR1ChatClientOptions)"/>).
    /// </summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="chatOptions">The request options, or null.</param>
    /// <returns>The question.</returns>
    /// <exception cref="ArgumentException">No user message, no image, an image too large or not allowed, no question text, or no valid option list.</exception>
    public static VqaChatRequest From(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null) =>
        From(messages, chatOptions, new AnatomyR1ChatClientOptions());

    /// <summary>
    /// Reads the question from the last user message. The image is the message's last image content: a
    /// <see cref="DataContent"/> (bytes or a <c>data:</c> URI) or, only when
    /// <see cref="AnatomyR1ChatClientOptions.LocalImageFolder"/> allows it, a <see cref="UriContent"/> naming a regular
    /// file in that folder (symbolic links are resolved before the check; a directory, FIFO, device or socket is
    /// refused without being read, and the size is checked before reading); remote URIs are refused (nothing is
    /// downloaded). The options come from
    /// <paramref name="chatOptions"/>' <see cref="AnatomyR1ChatClient.OptionsProperty"/> entry when it is present;
    /// otherwise from the message's text, one per line as <c>A. Liver</c>, <c>A) Liver</c>, <c>(A) Liver</c> or
    /// <c>Liver, option A</c>, lettered from A without gaps. The other lines (an <c>Options:</c> or <c>Choices:</c>
    /// header and, when the options were passed separately, any option lines excepted) are the question, joined by
    /// spaces. System and assistant messages are ignored: the policy was trained on one fixed prompt form.
    /// </summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="chatOptions">The request options, or null.</param>
    /// <param name="clientOptions">Which local files may be read and how large an image may be.</param>
    /// <returns>The question.</returns>
    /// <exception cref="ArgumentException">No user message, no image, an image too large or not allowed, no question text, or no valid option list.</exception>
    public static VqaChatRequest From(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions, AnatomyR1ChatClientOptions clientOptions)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(clientOptions);
        var user = messages.LastOrDefault(m => m.Role == ChatRole.User)
            ?? throw new ArgumentException("The conversation has no user message; the question, its image and its options go in the last user message.", nameof(messages));

        var imageContent = user.Contents.LastOrDefault(c => c is DataContent d && d.HasTopLevelMediaType("image") || c is UriContent u && u.HasTopLevelMediaType("image"))
            ?? throw new ArgumentException("The last user message has no image: add a DataContent with an image/* media type.", nameof(messages));
        var (image, imageName) = imageContent is DataContent data
            ? (data.Data, data.Name ?? $"{data.MediaType} image")
            : ReadLocalImage(((UriContent)imageContent).Uri, clientOptions);
        if (image.Length > clientOptions.MaxImageBytes)
        {
            throw new ArgumentException($"The {imageName} has {image.Length} bytes; at most {clientOptions.MaxImageBytes} are accepted (AnatomyR1ChatClientOptions.MaxImageBytes).", nameof(messages));
        }

        string text = string.Join("\n", user.Contents.OfType<TextContent>().Select(t => t.Text)).Replace("\r\n", "\n", StringComparison.Ordinal);
        var (question, parsed) = SplitOptions(text);
        IReadOnlyList<string> options = OptionsFrom(chatOptions) ?? parsed;
        if (options.Count == 0)
        {
            throw new ArgumentException(
                $"The last user message names no answer options: write them one per line as 'A. Liver', 'B. Gut', … or pass them as a string list in ChatOptions.AdditionalProperties[\"{AnatomyR1ChatClient.OptionsProperty}\"].",
                nameof(messages));
        }

        CheckOptions(options, nameof(messages));
        if (question.Length == 0)
        {
            throw new ArgumentException("The last user message has no question text.", nameof(messages));
        }

        return new VqaChatRequest(image, imageName, question, options);
    }

    private static (ReadOnlyMemory<byte> Image, string Name) ReadLocalImage(Uri uri, AnatomyR1ChatClientOptions clientOptions)
    {
        if (!uri.IsFile)
        {
            throw new ArgumentException($"The image '{uri}' is not a local file and nothing is downloaded: pass the bytes as DataContent.");
        }

        if (clientOptions.LocalImageFolder is not { Length: > 0 } folder)
        {
            throw new ArgumentException("Local image files are not read unless AnatomyR1ChatClientOptions.LocalImageFolder allows a folder: pass the bytes as DataContent.");
        }

        // Links are resolved before the folder check, only a regular file is read (a FIFO or a device is refused
        // without opening or blocking), and the size is checked before reading.
        string path = Path.GetFullPath(uri.LocalPath);
        var rules = new SafeFileOptions
        {
            Root = folder,
            RootName = "the allowed folder",
            MaxBytes = clientOptions.MaxImageBytes,
            MaxBytesName = "AnatomyR1ChatClientOptions.MaxImageBytes",
            What = "image file",
        };
        try
        {
            return (SafeFile.ReadAllBytes(path, rules), path);
        }
        catch (Exception e) when (e is FileRefusedException or FileNotFoundException or UnauthorizedAccessException)
        {
            throw new ArgumentException(e.Message, e);
        }
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
            System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.Array } json => json.EnumerateArray().Select(e => e.ValueKind == System.Text.Json.JsonValueKind.String
                ? e.GetString()!
                : throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{AnatomyR1ChatClient.OptionsProperty}\"] must hold strings (found a JSON {e.ValueKind}).")).ToList(),
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
