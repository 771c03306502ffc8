using System.Text.Json.Nodes;
using AnatomyR1.Cli;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Policy;
using Xunit;

namespace AnatomyR1.Cli.Tests;

/// <summary>
/// <c>anatomy-r1 score</c> and <c>train</c> with Hugging Face Qwen2.5-VL folders. score-expected.json was made by the
/// reference implementation's own code from the prompt and completion ids this command writes
/// (tools/qwen-reference/README.md).
/// </summary>
public sealed class QwenCliTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures", "qwen2_5_vl");

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("tiny-sharded")]
    public void Score_matches_the_reference_implementation(string folder)
    {
        string output = Path.Combine(Path.GetTempPath(), $"anatomyr1-score-{Guid.NewGuid():N}.jsonl");
        try
        {
            var (code, _, error) = Run("score", "--model", Path.Combine(Fixtures, folder), "--data", Path.Combine(Fixtures, "score-data.json"), "--out", output, "--device", "cpu");
            Assert.True(code == ExitCodes.Ok, error);
            var rows = File.ReadAllLines(output).Select(l => JsonNode.Parse(l)!).ToDictionary(r => (string)r["id"]!);
            var cases = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures, "score-cases.json")))!["cases"]!.AsArray();
            var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures, "score-expected.json")))!["cases"]!.AsArray();
            Assert.Equal(4, rows.Count);
            for (int i = 0; i < cases.Count; i++)
            {
                string id = (string)cases[i]!["id"]!;
                var row = rows[id];
                Assert.Equal(Ints(cases[i]!["prompt_ids"]!), Ints(row["prompt_ids"]!));
                Assert.Equal(Ints(cases[i]!["completion_ids"]!), Ints(row["completion_ids"]!));
                var reference = expected[i]!["logprobs"]!.AsArray().Select(v => (double)v!).ToArray();
                var ours = row["logprobs"]!.AsArray().Select(v => (double)v!).ToArray();
                Assert.Equal(reference.Length, ours.Length);
                double worst = reference.Zip(ours, (a, b) => Math.Abs(a - b)).Max();
                Assert.True(worst <= 1e-4, $"{folder} {id}: max |Δ log p| = {worst:G3}");
                Assert.Equal(Ints(expected[i]!["greedy_ids"]!), Ints(row["greedy_ids"]!));
                Assert.Contains("<|vision_start|><|image_pad|><|vision_end|>", (string)row["prompt"]!, StringComparison.Ordinal);
            }
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void Train_runs_grpo_end_to_end_from_a_hugging_face_folder_and_resumes()
    {
        string run = Path.Combine(Path.GetTempPath(), $"anatomyr1-qwen-run-{Guid.NewGuid():N}");
        try
        {
            string[] args =
            {
                "train", "--model", Path.Combine(Fixtures, "tiny-sharded"), "--data", Path.Combine(Fixtures, "score-data.json"), "--method", "anatomy-r1",
                "--steps", "3", "--batch-size", "2", "--num-generations", "2", "--max-new-tokens", "6", "--checkpoint-every", "1", "--out", run, "--device", "cpu",
            };
            var (stopped, first, err) = Run(args.Concat(new[] { "--stop-after", "2" }).ToArray());
            Assert.True(stopped == ExitCodes.Interrupted, err);
            Assert.Contains("qwen2_5_vl", first, StringComparison.Ordinal);
            var (code, second, err2) = Run(args.Concat(new[] { "--resume", "--eval", Path.Combine(Fixtures, "score-data.json") }).ToArray());
            Assert.True(code == ExitCodes.Ok, err2);
            Assert.Contains("Resumed from", second, StringComparison.Ordinal);
            Assert.Equal(3, File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Length);
            using var trained = PolicyRegistry.Load(Path.Combine(run, "policy"), "cpu");
            Assert.IsType<QwenVLPolicy>(trained);

            // The trained folder is a Hugging Face folder again: score reads it.
            string scored = Path.Combine(run, "scored.jsonl");
            Assert.Equal(ExitCodes.Ok, Run("score", "--model", Path.Combine(run, "policy"), "--data", Path.Combine(Fixtures, "score-data.json"), "--out", scored, "--greedy-tokens", "2", "--device", "cpu").Code);
            Assert.Equal(4, File.ReadAllLines(scored).Length);
        }
        finally
        {
            if (Directory.Exists(run))
            {
                Directory.Delete(run, recursive: true);
            }
        }
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void Train_with_lora_checkpoints_resumes_and_exports_merged_weights_that_score_and_eval_load()
    {
        string run = Path.Combine(Path.GetTempPath(), $"anatomyr1-qwen-lora-{Guid.NewGuid():N}");
        try
        {
            string data = Path.Combine(Fixtures, "score-data.json");
            string[] args =
            {
                "train", "--model", Path.Combine(Fixtures, "tiny"), "--data", data, "--method", "grpo", "--lora-rank", "4", "--lora-dropout", "0.1",
                "--gradient-checkpointing", "--steps", "3", "--batch-size", "2", "--num-generations", "2", "--max-new-tokens", "6", "--checkpoint-every", "1",
                "--out", run, "--device", "cpu",
            };
            var (stopped, first, err) = Run(args.Concat(new[] { "--stop-after", "2" }).ToArray());
            Assert.True(stopped == ExitCodes.Interrupted, err);
            Assert.Contains("LoRA r = 4", first, StringComparison.Ordinal);
            string checkpoint = Path.Combine(run, "checkpoints", "checkpoint-2");
            Assert.True(File.Exists(Path.Combine(checkpoint, "adapter", "adapter_config.json")), "the checkpoint holds the adapters");
            Assert.False(Directory.Exists(Path.Combine(checkpoint, "reference")), "LoRA needs no reference copy");

            // Resuming without the LoRA flags is refused in one line naming the setting.
            var plain = args.Where((a, i) => a != "--lora-rank" && (i == 0 || args[i - 1] != "--lora-rank")).ToArray();
            var (refused, _, why) = Run(plain.Concat(new[] { "--resume" }).ToArray());
            Assert.NotEqual(ExitCodes.Ok, refused);
            Assert.Contains("lora", why, StringComparison.Ordinal);
            Assert.Single(why.Trim().Split('\n'));

            var (code, second, err2) = Run(args.Concat(new[] { "--resume" }).ToArray());
            Assert.True(code == ExitCodes.Ok, err2);
            Assert.Contains("Resumed from", second, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(run, "adapter", "adapter_model.safetensors")), "the final adapters are saved in PEFT's layout");
            using (var trained = PolicyRegistry.Load(Path.Combine(run, "policy"), "cpu"))
            {
                Assert.IsType<QwenVLPolicy>(trained);
            }

            // The merged folder is a plain Hugging Face folder: score and eval read it.
            string scored = Path.Combine(run, "scored.jsonl");
            Assert.Equal(ExitCodes.Ok, Run("score", "--model", Path.Combine(run, "policy"), "--data", data, "--out", scored, "--greedy-tokens", "2", "--device", "cpu").Code);
            Assert.Equal(4, File.ReadAllLines(scored).Length);
            var (evalCode, evalOut, evalErr) = Run("eval", "--model", Path.Combine(run, "policy"), "--data", data, "--json");
            Assert.True(evalCode == ExitCodes.Ok, evalErr);
            Assert.Contains("accuracy", evalOut, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(run))
            {
                Directory.Delete(run, recursive: true);
            }
        }
    }

    [Fact]
    public void Score_refuses_a_damaged_checkpoint_in_one_line()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"anatomyr1-qwen-bad-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            foreach (string file in Directory.GetFiles(Path.Combine(Fixtures, "tiny")))
            {
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            }

            using (var stream = new FileStream(Path.Combine(folder, "model.safetensors"), FileMode.Open))
            {
                stream.SetLength(stream.Length - 7);
            }

            var (code, _, error) = Run("score", "--model", folder, "--data", Path.Combine(Fixtures, "score-data.json"), "--out", Path.Combine(folder, "out.jsonl"), "--device", "cpu");
            Assert.Equal(ExitCodes.BadInput, code);
            Assert.StartsWith("error: ", error, StringComparison.Ordinal);
            Assert.Contains("model.safetensors", error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static int[] Ints(JsonNode node) => node.AsArray().Select(v => (int)v!).ToArray();
}
