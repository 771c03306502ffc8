// A policy behind Microsoft.Extensions.AI's IChatClient: ask about a synthetic surgical scene, stream the reasoning
// token by token, then read the chosen option from the response's additional properties.
//
// Run: dotnet run --project samples/ChatClient -- [policy folder, default: the built-in checkpoint] [image.png]
using AnatomyR1.Data;
using AnatomyR1.Extensions.AI;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Policy;
using Microsoft.Extensions.AI;

using var policy = PolicyRegistry.LoadOrBuiltIn(args.Length > 0 ? args[0] : null, "cpu");
using IChatClient client = policy.AsChatClient(new AnatomyR1ChatClientOptions { ModelId = "anatomy-r1-tiny-warmstart" });

// One question from the synthetic scenes (its image, question and options), written as a chat message.
string work = Path.Combine(Path.GetTempPath(), "anatomyr1-chat-sample");
SyntheticDatasetWriter.Write(work, new SyntheticDatasetOptions { Count = 20, Seed = 4 }, overwrite: true);
var sample = VqaDataLoader.Load(Path.Combine(work, "test.json")).Samples[0];
byte[] image = File.ReadAllBytes(args.Length > 1 ? args[1] : sample.ImagePath);
ChatMessage question = VqaChatRequest.Create(image, "image/png", sample.Question, sample.Options);
Console.WriteLine($"user: {question.Text}\n");

Console.Write("assistant: ");
var updates = new List<ChatResponseUpdate>();
await foreach (var update in client.GetStreamingResponseAsync(new[] { question }))
{
    Console.Write(update.Text);
    updates.Add(update);
}

ChatResponse response = updates.ToChatResponse();
var answer = updates[^1].AdditionalProperties!;
Console.WriteLine($"\n\nchosen option: {answer[AnatomyR1ChatClient.AnswerLetterProperty]} ({answer[AnatomyR1ChatClient.AnswerOptionProperty]}); " +
    $"correct: {sample.CorrectLetter} ({sample.Options[sample.CorrectIndex]}); {response.Usage?.OutputTokenCount} tokens, finish reason {response.FinishReason}");
return 0;
