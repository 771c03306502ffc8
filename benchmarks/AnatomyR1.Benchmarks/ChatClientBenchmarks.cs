using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.Data;
using AnatomyR1.Extensions.AI;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.AI;
using static TorchSharp.torch;

namespace AnatomyR1.Benchmarks;

/// <summary>
/// The chat-client adapter on the built-in checkpoint (greedy, up to 80 tokens, one synthetic scene and question):
/// the policy called directly (image already decoded, the baseline), a whole reply through <see cref="IChatClient"/>
/// (PNG decode, prompt, generation on the worker thread, streamed pieces joined), and the time to the first streamed
/// piece. The ratio to the baseline is the adapter's overhead.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class ChatClientBenchmarks
{
    private TinyVlmPolicy _policy = null!;
    private AnatomyR1ChatClient _client = null!;
    private ChatMessage[] _question = null!;
    private float[] _pixels = null!;
    private string _prompt = null!;
    private string _folder = null!;

    /// <summary>Loads the checkpoint and writes one scene.</summary>
    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.EnsureThreads();
        _folder = Path.Combine(Path.GetTempPath(), "anatomyr1-chat-bench-" + Environment.ProcessId);
        SyntheticDatasetWriter.Write(_folder, new SyntheticDatasetOptions { Count = 20, Seed = 4 }, overwrite: true);
        var sample = VqaDataLoader.Load(Path.Combine(_folder, "test.json")).Samples[0];
        _policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
        _client = new AnatomyR1ChatClient(_policy);
        _question = new[] { VqaChatRequest.Create(File.ReadAllBytes(sample.ImagePath), "image/png", sample.Question, sample.Options) };
        _pixels = PolicyImage.FromFile(sample.ImagePath).ResizedPlanar(_policy.ImageSize, _policy.ImageSize);
        _prompt = PolicyPrompt.Format(sample);
    }

    /// <summary>Frees native memory.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _policy.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>One greedy completion straight from the policy.</summary>
    /// <returns>The completion's length.</returns>
    [Benchmark(Baseline = true)]
    public int PolicyDirect()
    {
        using var scope = NewDisposeScope();
        var pixels = tensor(_pixels, new long[] { 1, 3, _policy.ImageSize, _policy.ImageSize });
        var prompt = _policy.EncodePrompts(new[] { _prompt });
        using var result = _policy.Generate(pixels, prompt, new GenerationOptions { Temperature = 0, MaxNewTokens = 80 });
        return result.Texts[0].Length;
    }

    /// <summary>The same question as a chat request, whole reply.</summary>
    /// <returns>The reply's length.</returns>
    [Benchmark]
    public async Task<int> ChatResponse() => (await _client.GetResponseAsync(_question)).Text.Length;

    /// <summary>The same request, streamed, stopping at the first piece (time to first token).</summary>
    /// <returns>The first piece's length.</returns>
    [Benchmark]
    public async Task<int> ChatFirstStreamedPiece()
    {
        await foreach (var update in _client.GetStreamingResponseAsync(_question))
        {
            if (update.Text.Length > 0)
            {
                return update.Text.Length;
            }
        }

        return 0;
    }
}
