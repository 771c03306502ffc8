using AnatomyR1.Data;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Policy;

namespace AnatomyR1.TorchSharp.Tests.Generation;

/// <summary>
/// Synthetic training questions in a temporary folder (deleted on dispose) and the two policies the generation tests
/// run on: the built-in checkpoint and the tiny Qwen2.5-VL preset.
/// </summary>
internal sealed class GenerationTestData : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "anatomyr1-generation-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>Writes <paramref name="count"/> scenes (generator <paramref name="seed"/>), all in the training split.</summary>
    public GenerationTestData(int count, int seed)
    {
        SyntheticDatasetWriter.Write(_folder, new SyntheticDatasetOptions { Count = count, Seed = seed, TrainFraction = 1, ValidationFraction = 0 });
        Samples = VqaDataLoader.Load(Path.Combine(_folder, "train.json")).Samples;
    }

    public IReadOnlyList<VqaSample> Samples { get; }

    /// <summary>The built-in policy (<c>built-in</c>) or the tiny Qwen2.5-VL preset created with <paramref name="qwenSeed"/>.</summary>
    public static IVisionLanguagePolicy Policy(string name, long qwenSeed) =>
        name == "built-in" ? BuiltInPolicy.Load("cpu") : PolicyRegistry.Create(QwenPresets.Tiny, "cpu", seed: qwenSeed);

    /// <summary>The samples' images, prepared and collated by the policy.</summary>
    public static ImageBatch Images(IVisionLanguagePolicy policy, IEnumerable<VqaSample> samples) =>
        policy.ImageProcessor.Collate(samples.Select(s => policy.ImageProcessor.Prepare(PolicyImage.FromFile(s.ImagePath))).ToList(), policy.Device);

    /// <summary>The samples' prompts, encoded by the policy.</summary>
    public static TokenBatch Prompts(IVisionLanguagePolicy policy, IEnumerable<VqaSample> samples) =>
        policy.EncodePrompts(samples.Select(s => policy.FormatPrompt(s)).ToList());

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
