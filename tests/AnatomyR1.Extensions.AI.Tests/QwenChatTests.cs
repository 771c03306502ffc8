using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Policy;
using Microsoft.Extensions.AI;
using Xunit;

namespace AnatomyR1.Extensions.AI.Tests;

/// <summary>The chat client over a Hugging Face Qwen2.5-VL folder (the tiny random test checkpoint).</summary>
public sealed class QwenChatTests : IClassFixture<ChatClientFixture>
{
    private readonly ChatClientFixture _data;

    public QwenChatTests(ChatClientFixture data) => _data = data;

    [Fact]
    public async Task The_chat_client_streams_what_qwen_generates_directly()
    {
        using var policy = PolicyRegistry.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "qwen2_5_vl", "tiny"), "cpu");
        Assert.IsType<QwenVLPolicy>(policy);
        using var client = policy.AsChatClient(new AnatomyR1ChatClientOptions { MaxOutputTokens = 12 });
        var sample = _data.Samples[0];
        var question = VqaChatRequest.Create(File.ReadAllBytes(sample.ImagePath), "image/png", sample.Question, sample.Options);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(new[] { question }))
        {
            updates.Add(update);
        }

        var direct = BatchedCompletion.Run(policy, new[] { (PolicyImage.FromFile(sample.ImagePath), policy.FormatPrompt(sample.Question, sample.Options)) }, new GenerationOptions { Temperature = 0, MaxNewTokens = 12 });
        var response = updates.ToChatResponse();
        Assert.Equal(direct[0], response.Text);
        Assert.True(updates.Count(u => u.Text.Length > 0) > 1);

        // Usage counts the prompt as the decoder sees it: the placeholder expanded to the image's tokens.
        var prepared = policy.ImageProcessor.Prepare(PolicyImage.FromFile(sample.ImagePath));
        var ids = policy.Tokenizer.Encode(policy.FormatPrompt(sample.Question, sample.Options));
        Assert.Equal(ids.Count - 1 + prepared.TokenCount, response.Usage!.InputTokenCount);
    }
}
