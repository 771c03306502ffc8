using System.Diagnostics;
using AnatomyR1.TorchSharp.Models;
using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using static TorchSharp.torch;

namespace AnatomyR1.Benchmarks;

internal static class DecodeProfile
{
    public static int Run()
    {
        TorchRuntime.EnsureThreads();
        {
            var garbage = new List<byte[]>();
            for (int i = 0; i < 2000; i++) garbage.Add(new byte[1000]);
            foreach (long budget in new long[] { 128L << 20, 48L << 20, 16L << 20 })
            {
                var sw0 = Stopwatch.StartNew();
                for (int i = 0; i < 20; i++) { using var region = GcQuietRegion.Enter(budget); }
                Console.WriteLine($"no-GC region of {budget >> 20} MB: {sw0.Elapsed.TotalMilliseconds / 20:F2} ms to enter and leave");
            }
        }
        {
            manual_seed(3);
            int mismatches = 0, checks = 0;
            foreach (long rows in new long[] { 1, 2, 3, 5, 8, 13, 21, 32, 64, 100, 256 })
            {
                foreach (var (width, outs) in new[] { (128L, new long[] { 128, 128, 128 }), (128L, new long[] { 352, 352 }), (192L, new long[] { 192, 192, 192 }), (128L, new long[] { 128, 64, 64 }) })
                {
                    var x0 = randn(rows, width);
                    var ws = outs.Select(o => randn(o, width)).ToArray();
                    var fused = x0.matmul(cat(ws, 0).t());
                    long offset = 0;
                    foreach (var w in ws)
                    {
                        var single = x0.matmul(w.t());
                        checks++;
                        if (!single.eq(fused.narrow(1, offset, w.shape[0])).all().item<bool>()) mismatches++;
                        offset += w.shape[0];
                    }
                }
            }

            Console.WriteLine($"fused vs separate projections: {mismatches} of {checks} differ bitwise");
            foreach (long rows in new long[] { 4, 16, 32 })
            {
                var xs = randn(rows, 128);
                var w1 = randn(352 * 2, 128);
                var r1 = xs.matmul(w1.t());
                var r2 = w1.matmul(xs.t()).t();
                bool same = r1.eq(r2).all().item<bool>();
                var sw1 = Stopwatch.StartNew();
                for (int i = 0; i < 3000; i++) { using var sc = NewDisposeScope(); xs.matmul(w1.t()); }
                double a1 = sw1.Elapsed.TotalMilliseconds / 3000 * 1000;
                sw1.Restart();
                for (int i = 0; i < 3000; i++) { using var sc = NewDisposeScope(); w1.matmul(xs.t()).t(); }
                double a2 = sw1.Elapsed.TotalMilliseconds / 3000 * 1000;
                var wt = w1.t().contiguous();
                sw1.Restart();
                for (int i = 0; i < 3000; i++) { using var sc = NewDisposeScope(); xs.matmul(wt); }
                double a3 = sw1.Elapsed.TotalMilliseconds / 3000 * 1000;
                bool same3 = xs.matmul(wt).eq(r1).all().item<bool>();
                Console.WriteLine($"rows {rows}: x·Wt {a1:F1} us, (W·xt)t {a2:F1} us (bitwise same {same}), x·(Wt contiguous) {a3:F1} us (bitwise same {same3})");
            }
        }
        var policy = (TinyVlmPolicy)BuiltInPolicy.Load("cpu");
        var m = policy.Model;
        using var nog = no_grad();
        var pixels = rand(4, 3, 64, 64);
        var prompts = policy.EncodePrompts(Enumerable.Range(0, 4).Select(i => $"What is the name of the anatomy that is both above the grasper and left of the liver anatomy? {i}\nOptions:\nA. Liver\nB. Gut\nC. Omentum\nD. Cystic Plate").ToList());
        Console.WriteLine($"prompt len {prompts.Length}, vocab {policy.Config.VocabSize}, threads {get_num_threads()}");
        for (int rep = 0; rep < 3; rep++)
        {
            using var scope = NewDisposeScope();
            using var cache = new KvCache(4, 9 + prompts.Length + 64);
            var logits = m.Prefill(pixels, prompts.Ids, prompts.Mask, cache).select(1, -1);
            cache.Expand(8);
            var next = zeros(32, 1, dtype: ScalarType.Int64).fill_(5);
            var sw = Stopwatch.StartNew();
            for (int t = 0; t < 60; t++) { using var s2 = NewDisposeScope(); m.Decode(next, cache); }
            double decode = sw.Elapsed.TotalMilliseconds / 60;
            var lg = randn(32, policy.Config.VocabSize);
            sw.Restart();
            var opts = new GenerationOptions { Temperature = 1.0, Seed = 1 };
            using var gen = new Generator(1, CPU);
            for (int t = 0; t < 60; t++) { using var s2 = NewDisposeScope(); Decoding.SampleNext(lg, opts, gen); }
            double sample = sw.Elapsed.TotalMilliseconds / 60;
            var a = randn(32, 128); var b = randn(32, 128);
            sw.Restart();
            for (int t = 0; t < 2000; t++) { using var s2 = NewDisposeScope(); a.add(b, FixedScalars.One); }
            double op = sw.Elapsed.TotalMilliseconds / 2000 * 1000;
            var w = randn(352, 128);
            var x = randn(32, 1, 128);
            sw.Restart();
            for (int t = 0; t < 2000; t++) { using var s2 = NewDisposeScope(); x.matmul(w.t()); }
            double mm = sw.Elapsed.TotalMilliseconds / 2000 * 1000;
            var q = randn(32, 4, 1, 32); var k = randn(32, 4, 100, 32); var bias = zeros(32, 1, 1, 100);
            sw.Restart();
            for (int t = 0; t < 2000; t++) { using var s2 = NewDisposeScope(); nn.functional.scaled_dot_product_attention(q, k, k, bias); }
            double sdpa = sw.Elapsed.TotalMilliseconds / 2000 * 1000;
            double decode1;
    {
        using var c1 = new KvCache(4, 9 + prompts.Length + 64);
        m.Prefill(pixels.narrow(0, 0, 1), prompts.Ids.narrow(0, 0, 1), prompts.Mask.narrow(0, 0, 1), c1);
        var n1 = zeros(1, 1, dtype: ScalarType.Int64).fill_(5);
        sw.Restart();
        for (int t = 0; t < 60; t++) { using var s2 = NewDisposeScope(); m.Decode(n1, c1); }
        decode1 = sw.Elapsed.TotalMilliseconds / 60;
    }
    var xx = randn(32, 1, 128);
    var norm = new AnatomyR1.TorchSharp.Models.RmsNorm(128, 1e-5);
    sw.Restart();
    for (int t = 0; t < 2000; t++) { using var s2 = NewDisposeScope(); norm.forward(xx); }
    double normUs = sw.Elapsed.TotalMilliseconds / 2000 * 1000;
    var lin = nn.Linear(128, 128, hasBias: false);
    sw.Restart();
    for (int t = 0; t < 2000; t++) { using var s2 = NewDisposeScope(); lin.call(xx); }
    double linUs = sw.Elapsed.TotalMilliseconds / 2000 * 1000;
    var store = randn(32, 4, 128, 32);
    var view = store.narrow(2, 0, 100);
    sw.Restart();
    for (int t = 0; t < 2000; t++) { using var s2 = NewDisposeScope(); nn.functional.scaled_dot_product_attention(q, view, view, bias); }
    double sdpaView = sw.Elapsed.TotalMilliseconds / 2000 * 1000;
    var one = randn(32, 4, 1, 32);
    sw.Restart();
    for (int t = 0; t < 2000; t++) { using var s2 = NewDisposeScope(); cat(new[] { k, one }, 2); }
    double catUs = sw.Elapsed.TotalMilliseconds / 2000 * 1000;
    var q4 = randn(32, 4, 1, 32);
    sw.Restart();
    for (int t = 0; t < 2000; t++) { using var s2 = NewDisposeScope(); var sc = q4.matmul(k.transpose(2, 3)).add(bias, FixedScalars.One).softmax(-1); sc.matmul(k); }
    double manual = sw.Elapsed.TotalMilliseconds / 2000 * 1000;
    Console.WriteLine($"sdpa on a cache view {sdpaView:F1} us, cat of a 100-position cache {catUs:F1} us, manual attention {manual:F1} us");
    Console.WriteLine($"decode step 1 row {decode1:F2} ms, rmsnorm {normUs:F1} us, linear 128x128 (call) {linUs:F1} us");
    Console.WriteLine($"decode step {decode:F2} ms, sample {sample:F2} ms, add op {op:F1} us, matmul 32x128x352 {mm:F1} us, sdpa {sdpa:F1} us");
        }
        return 0;
    }
}
