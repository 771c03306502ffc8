using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.Prompts;
using AnatomyR1.Testing;
using AnatomyR1.TorchSharp.Policy;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel.ChatCompletion;
using Xunit;
using SkImageContent = Microsoft.SemanticKernel.ImageContent;
using SkItems = Microsoft.SemanticKernel.ChatCompletion.ChatMessageContentItemCollection;
using SkTextContent = Microsoft.SemanticKernel.TextContent;
using static TorchSharp.torch;

namespace AnatomyR1.Extensions.AI.Tests;

public sealed class ChatClientTests : IClassFixture<ChatClientFixture>
{
    private readonly ChatClientFixture _data;

    public ChatClientTests(ChatClientFixture data) => _data = data;

    private ChatMessage Question(int i) =>
        VqaChatRequest.Create(File.ReadAllBytes(_data.Samples[i].ImagePath), "image/png", _data.Samples[i].Question, _data.Samples[i].Options);

    [Fact]
    public async Task Replies_equal_the_ml_net_transformer_and_carry_the_extracted_answer()
    {
        using var client = new AnatomyR1ChatClient(_data.Policy);
        for (int i = 0; i < _data.Samples.Count; i++)
        {
            var response = await client.GetResponseAsync(new[] { new ChatMessage(ChatRole.System, "ignored"), Question(i) });
            Assert.Equal(_data.ReferenceCompletions[i], response.Text);
            Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
            Assert.Equal("anatomy-r1-tiny", response.ModelId);
            var expected = new AnswerExtractor(AnswerExtractionStrategy.TagLetter).Extract(response.Text, _data.Samples[i].Options);
            Assert.Equal(expected.Letter, response.AdditionalProperties![AnatomyR1ChatClient.AnswerLetterProperty]);
            Assert.Equal(expected.Index, response.AdditionalProperties[AnatomyR1ChatClient.AnswerIndexProperty]);
            Assert.Contains("<answer>", response.Text, StringComparison.Ordinal);
            Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
            int outputTokens = _data.Policy.Tokenizer.Encode(response.Text).Count + 1; // the end token counts
            Assert.Equal(outputTokens, response.Usage!.OutputTokenCount);
            Assert.Equal(response.Usage.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);
        }
    }

    [Fact]
    public async Task Streaming_sends_the_reply_in_many_pieces_that_join_to_the_whole_reply()
    {
        using var client = new AnatomyR1ChatClient(_data.Policy);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(new[] { Question(1) }))
        {
            updates.Add(update);
        }

        var textUpdates = updates.Where(u => u.Text.Length > 0).ToList();
        Assert.True(textUpdates.Count >= 10, $"only {textUpdates.Count} text updates");
        Assert.Equal(_data.ReferenceCompletions[1], string.Concat(textUpdates.Select(u => u.Text)));
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
        Assert.Single(updates[^1].Contents.OfType<UsageContent>());
        Assert.Equal(_data.ReferenceCompletions[1], updates.ToChatResponse().Text);
    }

    [Fact]
    public void Token_callbacks_see_exactly_the_tokens_batched_sampling_draws_with_the_same_seed()
    {
        var policy = _data.Policy;
        var options = new GenerationOptions { Temperature = 1.0, TopK = 20, MaxNewTokens = 40, Seed = 11 };
        using var scope = NewDisposeScope();
        using var pixels = policy.ImageProcessor.Collate(new[] { policy.ImageProcessor.Prepare(PolicyImage.FromFile(_data.Samples[2].ImagePath)) }, policy.Device);
        var prompt = policy.EncodePrompts(new[] { policy.FormatPrompt(_data.Samples[2]) });
        using var batched = policy.Generate(pixels, prompt, options);
        var seen = new List<int>();
        using var streamed = policy.Generate(pixels, prompt, options, id =>
        {
            seen.Add(id);
            return true;
        });
        Assert.Equal(batched.Texts[0], streamed.Texts[0]);
        Assert.Equal(batched.Texts[0], policy.Decode(seen));
        Assert.Equal(batched.Completions.Mask.sum().item<long>(), seen.Count);

        var firstFive = new List<int>();
        using var stopped = policy.Generate(pixels, prompt, options, id =>
        {
            firstFive.Add(id);
            return firstFive.Count < 5;
        });
        Assert.Equal(5, firstFive.Count);
        Assert.Equal(seen.Take(5), firstFive);
        Assert.True(stopped.Truncated[0]);
    }

    [Fact]
    public async Task Options_can_come_from_chat_options_and_in_other_written_forms()
    {
        using var client = new AnatomyR1ChatClient(_data.Policy);
        var sample = _data.Samples[0];
        byte[] png = File.ReadAllBytes(sample.ImagePath);
        var viaProperty = new ChatMessage(ChatRole.User, new List<AIContent> { new DataContent(png, "image/png"), new TextContent(sample.Question) });
        var options = new ChatOptions { AdditionalProperties = new AdditionalPropertiesDictionary { [AnatomyR1ChatClient.OptionsProperty] = sample.Options.ToArray() } };
        Assert.Equal(_data.ReferenceCompletions[0], (await client.GetResponseAsync(new[] { viaProperty }, options)).Text);

        string parenthesised = sample.Question + "\nChoices:\n" + string.Join("\n", sample.Options.Select((o, k) => $"({(char)('A' + k)}) {o}"));
        var parsed = VqaChatRequest.From(new[] { new ChatMessage(ChatRole.User, new List<AIContent> { new TextContent(parenthesised), new DataContent(png, "image/png") }) });
        Assert.Equal(sample.Options, parsed.Options);
        Assert.Equal(sample.Question, parsed.Question);

        var policyForm = VqaChatRequest.From(new[] { new ChatMessage(ChatRole.User, new List<AIContent> { new DataContent(png, "image/png"), new TextContent(PolicyPrompt.Format(sample)) }) });
        Assert.Equal(sample.Options, policyForm.Options);

        // Options passed separately: option lines in the text are not part of the question.
        var both = VqaChatRequest.From(new[] { Question(0) }, options);
        Assert.Equal(sample.Question, both.Question);

        // Local files only from the allowed folder.
        var fileMessage = new[] { new ChatMessage(ChatRole.User, new List<AIContent> { new UriContent(new Uri(sample.ImagePath), "image/png"), new TextContent(PolicyPrompt.Format(sample)) }) };
        var refused = Assert.Throws<ArgumentException>(() => VqaChatRequest.From(fileMessage));
        Assert.Contains("LocalImageFolder", refused.Message, StringComparison.Ordinal);
        var outside = Assert.Throws<ArgumentException>(() => VqaChatRequest.From(fileMessage, null, new AnatomyR1ChatClientOptions { LocalImageFolder = Path.GetTempPath() + "elsewhere" }));
        Assert.Contains("outside the allowed folder", outside.Message, StringComparison.Ordinal);
        var fromFile = VqaChatRequest.From(fileMessage, null, new AnatomyR1ChatClientOptions { LocalImageFolder = _data.Folder });
        Assert.Equal(png, fromFile.Image.ToArray());
        var tooLarge = Assert.Throws<ArgumentException>(() => VqaChatRequest.From(new[] { Question(0) }, null, new AnatomyR1ChatClientOptions { MaxImageBytes = 100 }));
        Assert.Contains("MaxImageBytes", tooLarge.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_requests_say_what_is_missing()
    {
        using var client = new AnatomyR1ChatClient(_data.Policy);
        var sample = _data.Samples[0];
        byte[] png = File.ReadAllBytes(sample.ImagePath);

        var noImage = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync("Which organ is this?\nA. Liver\nB. Gut"));
        Assert.Contains("no image", noImage.Message, StringComparison.Ordinal);

        var noOptions = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(new[]
        {
            new ChatMessage(ChatRole.User, new List<AIContent> { new DataContent(png, "image/png"), new TextContent("Which organ is this?") }),
        }));
        Assert.Contains("no answer options", noOptions.Message, StringComparison.Ordinal);
        Assert.Contains(AnatomyR1ChatClient.OptionsProperty, noOptions.Message, StringComparison.Ordinal);

        var gap = Assert.Throws<ArgumentException>(() => VqaChatRequest.From(new[]
        {
            new ChatMessage(ChatRole.User, new List<AIContent> { new DataContent(png, "image/png"), new TextContent("Which?\nA. Liver\nC. Gut") }),
        }));
        Assert.Contains("expected option B", gap.Message, StringComparison.Ordinal);

        var notAnImage = await Assert.ThrowsAsync<InvalidDataException>(() => client.GetResponseAsync(new[]
        {
            VqaChatRequest.Create(new byte[] { 1, 2, 3, 4 }, "image/png", "Which organ?", new[] { "Liver", "Gut" }),
        }));
        Assert.Contains("4 bytes", notAnImage.Message, StringComparison.Ordinal);

        var remote = Assert.Throws<ArgumentException>(() => VqaChatRequest.From(new[]
        {
            new ChatMessage(ChatRole.User, new List<AIContent> { new UriContent(new Uri("https://example.invalid/a.png"), "image/png"), new TextContent("Which?\nA. Liver\nB. Gut") }),
        }));
        Assert.Contains("nothing is downloaded", remote.Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentException>(() => VqaChatRequest.Create(png, "image/png", "Which?", new[] { "Liver", "Gut\nLiver" }));
        Assert.Throws<ArgumentException>(() => VqaChatRequest.Create(png, "image/png", " ", new[] { "Liver", "Gut" }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.GetResponseAsync(new[] { Question(0) }, new ChatOptions { Temperature = 1, TopP = -0.5f }));

        // The client still answers after the failures.
        Assert.Equal(_data.ReferenceCompletions[0], (await client.GetResponseAsync(new[] { Question(0) })).Text);
    }

    [Fact]
    public async Task Length_limits_stop_sequences_and_cancellation_end_the_reply_early()
    {
        using var client = new AnatomyR1ChatClient(_data.Policy);
        var short3 = await client.GetResponseAsync(new[] { Question(0) }, new ChatOptions { MaxOutputTokens = 3 });
        Assert.Equal(ChatFinishReason.Length, short3.FinishReason);
        Assert.Equal(3, short3.Usage!.OutputTokenCount);
        Assert.StartsWith(short3.Text, _data.ReferenceCompletions[0], StringComparison.Ordinal);

        var untilAnswer = await client.GetResponseAsync(new[] { Question(0) }, new ChatOptions { StopSequences = new[] { "<answer>" } });
        string reference = _data.ReferenceCompletions[0];
        Assert.Equal(reference[..reference.IndexOf("<answer>", StringComparison.Ordinal)], untilAnswer.Text);
        Assert.Equal(ChatFinishReason.Stop, untilAnswer.FinishReason);

        // A stop sequence that spans several tokens: no part of it is ever streamed.
        string multiToken = "</think> <answer>";
        Assert.Contains(multiToken, reference, StringComparison.Ordinal);
        var pieces = new List<string>();
        await foreach (var update in client.GetStreamingResponseAsync(new[] { Question(0) }, new ChatOptions { StopSequences = new[] { multiToken } }))
        {
            pieces.Add(update.Text);
        }

        Assert.Equal(reference[..reference.IndexOf(multiToken, StringComparison.Ordinal)], string.Concat(pieces));

        using var cancel = new CancellationTokenSource();
        int received = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(new[] { Question(0) }, cancellationToken: cancel.Token))
            {
                if (++received == 2)
                {
                    cancel.Cancel();
                }
            }
        });
        Assert.Equal(2, received);

        // Abandoning a stream part-way releases the client for the next request.
        await foreach (var update in client.GetStreamingResponseAsync(new[] { Question(1) }))
        {
            break;
        }

        Assert.Equal(_data.ReferenceCompletions[1], (await client.GetResponseAsync(new[] { Question(1) })).Text);
    }

    [Fact]
    public async Task Concurrent_requests_are_served_one_at_a_time_with_the_sequential_answers()
    {
        using var client = new AnatomyR1ChatClient(_data.Policy);
        var replies = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => client.GetResponseAsync(new[] { Question(i % _data.Samples.Count) }))));
        for (int i = 0; i < replies.Length; i++)
        {
            Assert.Equal(_data.ReferenceCompletions[i % _data.Samples.Count], replies[i].Text);
        }
    }

    [Fact]
    public async Task Plugs_into_microsoft_extensions_ai_pipelines_and_semantic_kernel()
    {
        using var inner = _data.Transformer.AsChatClient("anatomy-r1-test");
        Assert.Equal("anatomy-r1-test", inner.GetService<ChatClientMetadata>()!.DefaultModelId);
        Assert.Same(_data.Policy, inner.GetService<TinyVlmPolicy>());

        // A Microsoft.Extensions.AI middleware pipeline that supplies the options for every request.
        var sample = _data.Samples[3];
        using var pipeline = new ChatClientBuilder(inner)
            .ConfigureOptions(o => (o.AdditionalProperties ??= new AdditionalPropertiesDictionary())[AnatomyR1ChatClient.OptionsProperty] = sample.Options.ToList())
            .Build();
        var message = new ChatMessage(ChatRole.User, new List<AIContent> { new DataContent(File.ReadAllBytes(sample.ImagePath), "image/png"), new TextContent(sample.Question) });
        Assert.Equal(_data.ReferenceCompletions[3], (await pipeline.GetResponseAsync(new[] { message })).Text);

        // Semantic Kernel's chat completion service over the client, with its own image content type.
        var service = inner.AsChatCompletionService();
        var history = new ChatHistory();
        history.AddUserMessage(new SkItems
        {
            new SkImageContent(File.ReadAllBytes(sample.ImagePath), "image/png"),
            new SkTextContent(sample.Question + "\n" + string.Join("\n", sample.Options.Select((o, k) => $"{(char)('A' + k)}. {o}"))),
        });
        var reply = await service.GetChatMessageContentAsync(history);
        Assert.Equal(_data.ReferenceCompletions[3], reply.Content);
    }

    [Fact]
    public async Task Clients_over_one_policy_take_turns()
    {
        using var first = new AnatomyR1ChatClient(_data.Policy);
        using var second = new AnatomyR1ChatClient(_data.Policy);
        var stream = first.GetStreamingResponseAsync(new[] { Question(0) }).GetAsyncEnumerator();
        Assert.True(await stream.MoveNextAsync());               // the first request now holds the policy

        var waiting = second.GetResponseAsync(new[] { Question(1) });
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted, "the second client answered while the first still held the policy");

        await stream.DisposeAsync();                              // abandoning the stream releases the policy
        Assert.Equal(_data.ReferenceCompletions[1], (await waiting).Text);
    }

    [Fact]
    public async Task Local_files_out_of_the_folder_through_links_fifos_devices_and_oversized_files_are_refused_before_the_policy_is_taken()
    {
        var sample = _data.Samples[0];
        byte[] png = File.ReadAllBytes(sample.ImagePath);
        string folder = Directory.CreateTempSubdirectory("anatomyr1-chat-files").FullName;
        try
        {
            string allowed = Directory.CreateDirectory(Path.Combine(folder, "allowed")).FullName;
            string outside = Directory.CreateDirectory(Path.Combine(folder, "outside")).FullName;
            File.WriteAllBytes(Path.Combine(outside, "secret.png"), png);
            File.WriteAllBytes(Path.Combine(allowed, "scene.png"), png);
            File.CreateSymbolicLink(Path.Combine(allowed, "escape.png"), Path.Combine(outside, "secret.png"));
            File.CreateSymbolicLink(Path.Combine(allowed, "zero.png"), "/dev/zero");
            File.CreateSymbolicLink(Path.Combine(allowed, "same.png"), "scene.png");
            SpecialFiles.Fifo(Path.Combine(allowed, "pipe.png"));
            Directory.CreateDirectory(Path.Combine(allowed, "folder.png"));
            SpecialFiles.Sparse(Path.Combine(allowed, "huge.png"), 1L << 30);
            File.WriteAllBytes(Path.Combine(allowed, "garbage.png"), new byte[png.Length + 1]);

            ChatMessage[] Asking(string name) => new[] { new ChatMessage(ChatRole.User, new List<AIContent> { new UriContent(new Uri(Path.Combine(allowed, name)), "image/png"), new TextContent(PolicyPrompt.Format(sample)) }) };

            // Another client over the same policy holds it: a request that reached the policy's gate would wait.
            using var holder = new AnatomyR1ChatClient(_data.Policy);
            using var client = new AnatomyR1ChatClient(_data.Policy, new AnatomyR1ChatClientOptions { LocalImageFolder = allowed, MaxImageBytes = png.Length });
            var stream = holder.GetStreamingResponseAsync(new[] { Question(1) }).GetAsyncEnumerator();
            Assert.True(await stream.MoveNextAsync());

            var cases = new (string File, string Expected)[]
            {
                ("escape.png", $"'{Path.Combine(allowed, "escape.png")}' is a symbolic link to '{Path.Combine(outside, "secret.png")}', outside the allowed folder '{allowed}'"),
                ("zero.png", $"'{Path.Combine(allowed, "zero.png")}' is a symbolic link to '/dev/zero', outside the allowed folder"),
                ("pipe.png", $"'{Path.Combine(allowed, "pipe.png")}' is a FIFO (named pipe), not a regular file"),
                ("folder.png", $"'{Path.Combine(allowed, "folder.png")}' is a directory, not a regular file"),
                ("huge.png", $"has 1,073,741,824 bytes, more than AnatomyR1ChatClientOptions.MaxImageBytes = {png.Length:N0}; it was not read"),
                ("garbage.png", $"has {png.Length + 1:N0} bytes, more than AnatomyR1ChatClientOptions.MaxImageBytes"),
            };
            foreach (var (file, expected) in cases)
            {
                var (error, elapsed) = SpecialFiles.Run(() => client.GetResponseAsync(Asking(file)).GetAwaiter().GetResult());
                var refused = Assert.IsType<ArgumentException>(error);
                Assert.Contains(expected, refused.Message, StringComparison.Ordinal);
                Assert.True(elapsed < TimeSpan.FromSeconds(2), $"{file}: took {elapsed}");
            }

            await stream.DisposeAsync();

            // Links that stay inside the folder are read.
            Assert.Equal(png, VqaChatRequest.From(Asking("same.png"), null, client.Options).Image.ToArray());
            Assert.Equal(_data.ReferenceCompletions[0], (await client.GetResponseAsync(Asking("same.png"))).Text);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Disposing_the_client_stops_its_requests_and_then_frees_an_owned_policy()
    {
        var policy = BuiltInPolicy.Load("cpu");
        var client = new AnatomyR1ChatClient(policy, new AnatomyR1ChatClientOptions { DisposePolicy = true });
        var stream = client.GetStreamingResponseAsync(new[] { Question(0) }).GetAsyncEnumerator();
        Assert.True(await stream.MoveNextAsync());
        client.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () =>
        {
            while (await stream.MoveNextAsync())
            {
            }
        });
        await stream.DisposeAsync();
        Assert.ThrowsAny<Exception>(() => policy.TrainableParameters().First().sum().item<float>());   // freed once the request ended
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.GetResponseAsync(new[] { Question(0) }));

        // A client that does not own its policy leaves it usable.
        var borrowed = new AnatomyR1ChatClient(_data.Policy);
        borrowed.Dispose();
        Assert.Equal(_data.ReferenceCompletions[0], (await new AnatomyR1ChatClient(_data.Policy).GetResponseAsync(new[] { Question(0) })).Text);
    }
}
