using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.Data;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Policy;
using Microsoft.ML;
using Microsoft.ML.Data;

[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]

namespace AnatomyR1.Extensions.AI.Tests;

/// <summary>
/// The built-in checkpoint and a few synthetic questions with their images, plus the completions the ML.NET
/// transformer writes for them (greedy, 80 tokens): the reference the chat client must reproduce.
/// </summary>
public sealed class ChatClientFixture : IDisposable
{
    public ChatClientFixture()
    {
        Folder = Path.Combine(Path.GetTempPath(), "anatomyr1-chat-" + Guid.NewGuid().ToString("N"));
        SyntheticDatasetWriter.Write(Folder, new SyntheticDatasetOptions { Count = 30, Seed = 5 }, overwrite: true);
        var loaded = VqaDataLoader.Load(Path.Combine(Folder, "train.json"));
        Samples = loaded.Samples.Take(4).ToList();
        Transformer = new VlmTransformer(BuiltInPolicy.Load("cpu"));
        var rows = (loaded with { Samples = Samples }).ToDataView(new MLContext(seed: 0));
        ReferenceCompletions = Transformer.Transform(rows).GetColumn<string>(VqaColumns.Completion).ToList();
    }

    public string Folder { get; }

    public IReadOnlyList<VqaSample> Samples { get; }

    public VlmTransformer Transformer { get; }

    public IVisionLanguagePolicy Policy => Transformer.Policy;

    public IReadOnlyList<string> ReferenceCompletions { get; }

    public void Dispose()
    {
        Transformer.Dispose();
        Directory.Delete(Folder, recursive: true);
    }
}
