using AnatomyR1.Data;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Models.Tiny;
using Xunit;

namespace AnatomyR1.TorchSharp.Tests;

public sealed class TokenizerTests
{
    private static readonly VlmTokenizer Tokenizer = DefaultVocabulary.CreateTokenizer();

    [Fact]
    public void VocabularyIsCompactAndStartsWithTheSpecialTokens()
    {
        Assert.Equal(249, Tokenizer.VocabSize);   // the built-in checkpoint's embedding table has 249 rows
        Assert.Equal(VlmTokenizer.SpecialTokens, Tokenizer.Vocabulary.Take(8));
        Assert.Equal(Tokenizer.Vocabulary, DefaultVocabulary.Build());
    }

    [Fact]
    public void SpecialTokensAndTemplateWordsAreSingleTokens()
    {
        var ids = Tokenizer.Encode("<think> the top-left is gut, option B </think> <answer>B</answer>");
        Assert.Equal(new[] { "<think>", "the", "top", "-", "left", "is", "gut", ",", "option", "b", "</think>", "<answer>", "b", "</answer>" }, ids.Select(Tokenizer.TokenOf));
        Assert.Equal("<think> the top-left is gut, option b </think> <answer> b </answer>", Tokenizer.Decode(ids));
    }

    [Fact]
    public void UnknownWordsAreSpelledAndNeverFail()
    {
        var ids = Tokenizer.Encode("Xylophagous zebra ✓ é");
        Assert.DoesNotContain(ids, id => id < 0 || id >= Tokenizer.VocabSize);
        Assert.Contains(ids, id => Tokenizer.TokenOf(id).StartsWith("##", StringComparison.Ordinal));
        Assert.Equal("xylophagous zebra [UNK] [UNK]", Tokenizer.Decode(ids));
    }

    [Fact]
    public void SyntheticQuestionsAndTracesRoundTrip()
    {
        var records = SyntheticDatasetGenerator.Generate(new SyntheticDatasetOptions { Count = 200, Seed = 2 }).SelectMany(s => s.Records);
        foreach (var r in records)
        {
            foreach (string text in new[] { r.Question, r.Completion })
            {
                var ids = Tokenizer.Encode(text);
                Assert.DoesNotContain(1, ids); // no [UNK]
                Assert.DoesNotContain(ids, id => Tokenizer.TokenOf(id).StartsWith("##", StringComparison.Ordinal)); // every word is in the vocabulary
                Assert.Equal(Normalise(text), Normalise(Tokenizer.Decode(ids)));
            }
        }
    }

    [AnatomyR1.Testing.SharedDataFact]
    public void RealQuestionsRoundTrip()
    {
        string shared = AnatomyR1.Testing.SharedDataLocator.AnatomyR1Folder();
        var samples = VqaDataLoader.Load(Path.Combine(shared, "GRPO.json")).Samples;
        int spelled = 0;
        foreach (var s in samples)
        {
            var ids = Tokenizer.Encode(s.Question);
            Assert.DoesNotContain(1, ids);
            Assert.Equal(Normalise(s.Question), Normalise(Tokenizer.Decode(ids)));
            spelled += ids.Count(id => Tokenizer.TokenOf(id).StartsWith("##", StringComparison.Ordinal)) > 0 ? 1 : 0;
        }

        Assert.True(spelled < samples.Count / 20, $"{spelled} real questions needed character pieces");
    }

    [Fact]
    public void SavedVocabularyLoadsIdentically()
    {
        string path = Path.Combine(Path.GetTempPath(), "anatomyr1-vocab-" + Guid.NewGuid().ToString("N") + ".txt");
        try
        {
            Tokenizer.Save(path);
            var loaded = VlmTokenizer.Load(path);
            Assert.Equal(Tokenizer.Vocabulary, loaded.Vocabulary);
            Assert.Equal(Tokenizer.Encode("What is the red top-mid anatomy?"), loaded.Encode("What is the red top-mid anatomy?"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void VocabularyWithoutSpecialTokensIsRejected() =>
        Assert.Throws<FormatException>(() => VlmTokenizer.FromVocabulary(new[] { "a", "b" }));

    private static string Normalise(string text) =>
        string.Concat(text.ToLowerInvariant().Where(c => !char.IsWhiteSpace(c)));
}
