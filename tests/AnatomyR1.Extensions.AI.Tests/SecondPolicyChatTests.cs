using AnatomyR1.Testing.Policies;
using AnatomyR1.TorchSharp.Policy;
using Microsoft.Extensions.AI;
using Xunit;

namespace AnatomyR1.Extensions.AI.Tests;

/// <summary>The chat client over a second policy architecture (patch tokens, character tokenizer, its own prompt).</summary>
public sealed class SecondPolicyChatTests : IClassFixture<ChatClientFixture>
{
    private readonly ChatClientFixture _data;

    public SecondPolicyChatTests(ChatClientFixture data) => _data = data;

    [Fact]
    public async Task The_chat_client_streams_what_the_second_policy_generates_directly()
    {
        using var policy = PatchPolicy.Create(seed: 8);
        using var client = policy.AsChatClient(new AnatomyR1ChatClientOptions { MaxOutputTokens = 16 });
        var sample = _data.Samples[0];
        var question = VqaChatRequest.Create(File.ReadAllBytes(sample.ImagePath), "image/png", sample.Question, sample.Options);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(new[] { question }))
        {
            updates.Add(update);
        }

        var direct = BatchedCompletion.Run(policy, new[] { (PolicyImage.FromFile(sample.ImagePath), policy.FormatPrompt(sample)) }, new GenerationOptions { Temperature = 0, MaxNewTokens = 16 });
        var response = updates.ToChatResponse();
        Assert.Equal(direct[0], response.Text);
        Assert.True(updates.Count(u => u.Text.Length > 0) > 1);

        // Usage counts the second policy's own image tokens (64×64 → 16 patches) and prompt characters.
        int promptTokens = 16 + policy.Tokenizer.Encode(policy.FormatPrompt(sample)).Count;
        Assert.Equal(promptTokens, response.Usage!.InputTokenCount);
    }
}
