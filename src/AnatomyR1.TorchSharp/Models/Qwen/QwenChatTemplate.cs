using System.Globalization;
using System.Text;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>One part of a message's content: text, an image or a video, in the order they appear.</summary>
public sealed class QwenContentPart
{
    private QwenContentPart(QwenContentKind kind, string text)
    {
        Kind = kind;
        Text = text;
    }

    /// <summary>What the part is.</summary>
    public QwenContentKind Kind { get; }

    /// <summary>The text of a <see cref="QwenContentKind.Text"/> part (empty for images and videos).</summary>
    public string Text { get; }

    /// <summary>A text part.</summary>
    /// <param name="text">The text (written as it is: the template escapes nothing and trims nothing).</param>
    /// <returns>The part.</returns>
    public static QwenContentPart FromText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new QwenContentPart(QwenContentKind.Text, text);
    }

    /// <summary>An image part (rendered as <c>&lt;|vision_start|&gt;&lt;|image_pad|&gt;&lt;|vision_end|&gt;</c>).</summary>
    /// <returns>The part.</returns>
    public static QwenContentPart Image() => new(QwenContentKind.Image, string.Empty);

    /// <summary>A video part (rendered as <c>&lt;|vision_start|&gt;&lt;|video_pad|&gt;&lt;|vision_end|&gt;</c>).</summary>
    /// <returns>The part.</returns>
    public static QwenContentPart Video() => new(QwenContentKind.Video, string.Empty);

    /// <summary>A text part.</summary>
    /// <param name="text">The text.</param>
    public static implicit operator QwenContentPart(string text) => FromText(text);
}

/// <summary>The kinds of <see cref="QwenContentPart"/>.</summary>
public enum QwenContentKind
{
    /// <summary>Text.</summary>
    Text,

    /// <summary>An image.</summary>
    Image,

    /// <summary>A video.</summary>
    Video,
}

/// <summary>A chat message: a role (<c>system</c>, <c>user</c>, <c>assistant</c>, …) and its ordered content parts.</summary>
public sealed class QwenChatMessage
{
    /// <summary>Creates a message.</summary>
    /// <param name="role">The role, written as it is after <c>&lt;|im_start|&gt;</c>.</param>
    /// <param name="parts">The content parts, in order.</param>
    public QwenChatMessage(string role, IEnumerable<QwenContentPart> parts)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(role);
        ArgumentNullException.ThrowIfNull(parts);
        Role = role;
        Parts = parts.Select(p => p ?? throw new ArgumentException("A content part is null.", nameof(parts))).ToArray();
    }

    /// <summary>The role.</summary>
    public string Role { get; }

    /// <summary>The content parts, in order.</summary>
    public IReadOnlyList<QwenContentPart> Parts { get; }

    /// <summary>A system message.</summary>
    /// <param name="text">Its text.</param>
    /// <returns>The message.</returns>
    public static QwenChatMessage System(string text) => new(QwenChatTemplate.SystemRole, [QwenContentPart.FromText(text)]);

    /// <summary>A user message of text and image parts, in order.</summary>
    /// <param name="parts">The parts (a string converts to a text part).</param>
    /// <returns>The message.</returns>
    public static QwenChatMessage User(params QwenContentPart[] parts) => new(QwenChatTemplate.UserRole, parts);

    /// <summary>An assistant message.</summary>
    /// <param name="text">Its text.</param>
    /// <returns>The message.</returns>
    public static QwenChatMessage Assistant(string text) => new(QwenChatTemplate.AssistantRole, [QwenContentPart.FromText(text)]);
}

/// <summary>
/// The Qwen2.5-VL chat template, rendered in code: only this template is supported; a model folder's own Jinja
/// <c>chat_template</c> is not read or interpreted. It follows, branch for branch, the template Qwen2.5-VL-Instruct
/// publishes (checked against the <c>chat_template</c> text in Hugging Face transformers'
/// <c>tests/models/qwen2_5_vl/test_processor_qwen2_5_vl.py</c>, <c>prepare_processor_dict</c>, which is the
/// <c>chat_template.json</c> of Qwen2-VL-7B-Instruct and Qwen2.5-VL-*-Instruct):
/// <list type="bullet">
/// <item>when the first message is not a system message, <c>&lt;|im_start|&gt;system\nYou are a helpful assistant.&lt;|im_end|&gt;\n</c> comes first;</item>
/// <item>each message is <c>&lt;|im_start|&gt;{role}\n</c>, its parts in order, then <c>&lt;|im_end|&gt;\n</c>; a text part is
/// written verbatim, an image part as <c>&lt;|vision_start|&gt;&lt;|image_pad|&gt;&lt;|vision_end|&gt;</c>, a video part as
/// <c>&lt;|vision_start|&gt;&lt;|video_pad|&gt;&lt;|vision_end|&gt;</c>, each optionally preceded by <c>Picture n: </c> /
/// <c>Video n: </c> (<c>add_vision_id</c>, counted across the conversation);</item>
/// <item>with <c>add_generation_prompt</c>, <c>&lt;|im_start|&gt;assistant\n</c> ends the prompt.</item>
/// </list>
/// The processor then replaces each <c>&lt;|image_pad|&gt;</c> by as many pads as the image has merged patches
/// (<see cref="ExpandImagePads"/>, <see cref="ExpandImagePadIds"/>).
/// </summary>
public static class QwenChatTemplate
{
    /// <summary>The system role.</summary>
    public const string SystemRole = "system";

    /// <summary>The user role.</summary>
    public const string UserRole = "user";

    /// <summary>The assistant role.</summary>
    public const string AssistantRole = "assistant";

    /// <summary>The system message the template adds when a conversation does not start with one.</summary>
    public const string DefaultSystemMessage = "You are a helpful assistant.";

    /// <summary>Starts a message.</summary>
    public const string ImStart = "<|im_start|>";

    /// <summary>Ends a message (Qwen2.5-VL-Instruct's end-of-sequence token).</summary>
    public const string ImEnd = "<|im_end|>";

    /// <summary>End of text (Qwen2.5's padding token).</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>Opens an image or video.</summary>
    public const string VisionStart = "<|vision_start|>";

    /// <summary>Closes an image or video.</summary>
    public const string VisionEnd = "<|vision_end|>";

    /// <summary>One image token (one per merged patch after expansion).</summary>
    public const string ImagePad = "<|image_pad|>";

    /// <summary>One video token.</summary>
    public const string VideoPad = "<|video_pad|>";

    /// <summary>Renders a conversation.</summary>
    /// <param name="messages">The messages, in order.</param>
    /// <param name="addGenerationPrompt">End with <c>&lt;|im_start|&gt;assistant\n</c> so that the model writes the answer.</param>
    /// <param name="addVisionId">Label images and videos <c>Picture 1: </c>, <c>Video 1: </c>, … (the template's <c>add_vision_id</c>).</param>
    /// <returns>The prompt text (one <c>&lt;|image_pad|&gt;</c> per image).</returns>
    public static string Render(IReadOnlyList<QwenChatMessage> messages, bool addGenerationPrompt, bool addVisionId = false)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var sb = new StringBuilder();
        int images = 0, videos = 0;
        for (int m = 0; m < messages.Count; m++)
        {
            var message = messages[m] ?? throw new ArgumentException($"Message {m} is null.", nameof(messages));
            if (m == 0 && message.Role != SystemRole)
            {
                sb.Append(ImStart).Append(SystemRole).Append('\n').Append(DefaultSystemMessage).Append(ImEnd).Append('\n');
            }

            sb.Append(ImStart).Append(message.Role).Append('\n');
            foreach (var part in message.Parts)
            {
                switch (part.Kind)
                {
                    case QwenContentKind.Image:
                        images++;
                        if (addVisionId)
                        {
                            sb.Append("Picture ").Append(images.ToString(CultureInfo.InvariantCulture)).Append(": ");
                        }

                        sb.Append(VisionStart).Append(ImagePad).Append(VisionEnd);
                        break;
                    case QwenContentKind.Video:
                        videos++;
                        if (addVisionId)
                        {
                            sb.Append("Video ").Append(videos.ToString(CultureInfo.InvariantCulture)).Append(": ");
                        }

                        sb.Append(VisionStart).Append(VideoPad).Append(VisionEnd);
                        break;
                    default:
                        sb.Append(part.Text);
                        break;
                }
            }

            sb.Append(ImEnd).Append('\n');
        }

        if (addGenerationPrompt)
        {
            sb.Append(ImStart).Append(AssistantRole).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>Renders a conversation.</summary>
    /// <param name="addGenerationPrompt">End with <c>&lt;|im_start|&gt;assistant\n</c>.</param>
    /// <param name="messages">The messages, in order.</param>
    /// <returns>The prompt text.</returns>
    public static string Render(bool addGenerationPrompt, params QwenChatMessage[] messages) => Render(messages, addGenerationPrompt);

    /// <summary>
    /// Replaces the i-th <c>&lt;|image_pad|&gt;</c> of a rendered prompt by <paramref name="tokensPerImage"/>[i] pads
    /// (what Qwen2.5-VL's processor does with <c>image_grid_thw.prod() / merge_size²</c>).
    /// </summary>
    /// <param name="prompt">The rendered prompt (one pad per image).</param>
    /// <param name="tokensPerImage">The number of image tokens of each image, in order.</param>
    /// <returns>The expanded prompt.</returns>
    /// <exception cref="ArgumentException">The prompt's image count differs from the list's, or a count is below 1.</exception>
    public static string ExpandImagePads(string prompt, IReadOnlyList<int> tokensPerImage)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(tokensPerImage);
        CheckCounts(tokensPerImage);
        var sb = new StringBuilder(prompt.Length);
        int image = 0, from = 0;
        while (true)
        {
            int at = prompt.IndexOf(ImagePad, from, StringComparison.Ordinal);
            if (at < 0)
            {
                break;
            }

            if (image >= tokensPerImage.Count)
            {
                throw new ArgumentException($"The prompt has more than {tokensPerImage.Count} {ImagePad} tokens.", nameof(tokensPerImage));
            }

            sb.Append(prompt, from, at - from);
            for (int k = 0; k < tokensPerImage[image]; k++)
            {
                sb.Append(ImagePad);
            }

            image++;
            from = at + ImagePad.Length;
        }

        if (image != tokensPerImage.Count)
        {
            throw new ArgumentException($"The prompt has {image} {ImagePad} tokens but {tokensPerImage.Count} image token counts were given.", nameof(tokensPerImage));
        }

        sb.Append(prompt, from, prompt.Length - from);
        return sb.ToString();
    }

    /// <summary>The id-level form of <see cref="ExpandImagePads"/>: repeats the i-th image-pad id <paramref name="tokensPerImage"/>[i] times.</summary>
    /// <param name="ids">Token ids of a rendered prompt (one pad id per image).</param>
    /// <param name="imagePadId">The id of <c>&lt;|image_pad|&gt;</c> (<c>tokenizer.TokenToId(QwenChatTemplate.ImagePad)</c>).</param>
    /// <param name="tokensPerImage">The number of image tokens of each image, in order.</param>
    /// <returns>The expanded ids.</returns>
    /// <exception cref="ArgumentException">The number of pad ids differs from the list's length, or a count is below 1.</exception>
    public static IReadOnlyList<int> ExpandImagePadIds(IReadOnlyList<int> ids, int imagePadId, IReadOnlyList<int> tokensPerImage)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(tokensPerImage);
        CheckCounts(tokensPerImage);
        int pads = ids.Count(id => id == imagePadId);
        if (pads != tokensPerImage.Count)
        {
            throw new ArgumentException($"The ids have {pads} image pads (id {imagePadId}) but {tokensPerImage.Count} image token counts were given.", nameof(tokensPerImage));
        }

        var result = new List<int>(ids.Count + tokensPerImage.Sum() - pads);
        int image = 0;
        foreach (int id in ids)
        {
            if (id != imagePadId)
            {
                result.Add(id);
                continue;
            }

            for (int k = 0; k < tokensPerImage[image]; k++)
            {
                result.Add(imagePadId);
            }

            image++;
        }

        return result;
    }

    private static void CheckCounts(IReadOnlyList<int> tokensPerImage)
    {
        for (int i = 0; i < tokensPerImage.Count; i++)
        {
            if (tokensPerImage[i] < 1)
            {
                throw new ArgumentException($"Image {i} has {tokensPerImage[i]} tokens; every image has at least one.", nameof(tokensPerImage));
            }
        }
    }
}
