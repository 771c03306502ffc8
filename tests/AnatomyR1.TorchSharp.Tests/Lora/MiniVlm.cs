using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests.Lora;

/// <summary>
/// A small vision-language model laid out like the Qwen2.5-VL port (<c>model.layers.N.self_attn.q_proj</c>,
/// <c>model.layers.N.mlp.gate_proj</c>, <c>visual.blocks.N.mlp.gate_proj</c>, <c>visual.blocks.N.attn.qkv</c>,
/// <c>lm_head</c>) that invokes every <c>Linear</c> through <c>call</c>, so forward hooks run.
/// </summary>
internal sealed class MiniVlm : nn.Module
{
    public const int Vocab = 50;
    public const int Width = 16;

    [ComponentName(Name = "model")]
    private readonly MiniText _text;
    [ComponentName(Name = "visual")]
    private readonly MiniVisual _visual;
    [ComponentName(Name = "lm_head")]
    private readonly Linear _head;

    public MiniVlm(long seed, int layers = 2)
        : base(nameof(MiniVlm))
    {
        manual_seed(seed);
        _text = new MiniText(layers);
        _visual = new MiniVisual(2);
        _head = nn.Linear(Width, Vocab, hasBias: false);
        RegisterComponents();
    }

    /// <summary>Logits [B, T, V] for token ids [B, T] and patch features [B, P, Width].</summary>
    public Tensor Logits(Tensor ids, Tensor patches)
    {
        using var scope = NewDisposeScope();
        var image = _visual.forward(patches).mean(new long[] { 1 }, keepdim: true);
        var hidden = _text.Run(ids, image);
        return _head.call(hidden).MoveToOuterDisposeScope();
    }

    /// <summary>Fixed inputs: ids [2, 7] and patches [2, 5, Width].</summary>
    public static (Tensor Ids, Tensor Patches) Inputs()
    {
        var generator = new Generator(123, CPU);
        var ids = randint(0, Vocab, new long[] { 2, 7 }, generator: generator);
        var patches = randn(new long[] { 2, 5, Width }, generator: generator);
        return (ids, patches);
    }

    private sealed class MiniText : nn.Module
    {
        [ComponentName(Name = "embed_tokens")]
        private readonly Embedding _embed;
        [ComponentName(Name = "layers")]
        private readonly ModuleList<MiniLayer> _layers = new();

        public MiniText(int layers)
            : base(nameof(MiniText))
        {
            _embed = nn.Embedding(Vocab, Width);
            for (int i = 0; i < layers; i++)
            {
                _layers.Add(new MiniLayer());
            }

            RegisterComponents();
        }

        public Tensor Run(Tensor ids, Tensor image)
        {
            var x = _embed.call(ids) + image;
            foreach (var layer in _layers)
            {
                x = layer.forward(x);
            }

            return x;
        }
    }

    private sealed class MiniLayer : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "self_attn")]
        private readonly MiniAttention _attn = new();
        [ComponentName(Name = "mlp")]
        private readonly MiniMlp _mlp = new();

        public MiniLayer()
            : base(nameof(MiniLayer)) => RegisterComponents();

        public override Tensor forward(Tensor input)
        {
            var h = input + _attn.forward(input);
            return h + _mlp.forward(h);
        }
    }

    private sealed class MiniAttention : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "q_proj")]
        private readonly Linear _q = nn.Linear(Width, Width, hasBias: true);
        [ComponentName(Name = "k_proj")]
        private readonly Linear _k = nn.Linear(Width, Width / 2, hasBias: true);
        [ComponentName(Name = "v_proj")]
        private readonly Linear _v = nn.Linear(Width, Width / 2, hasBias: true);
        [ComponentName(Name = "o_proj")]
        private readonly Linear _o = nn.Linear(Width, Width, hasBias: false);

        public MiniAttention()
            : base(nameof(MiniAttention)) => RegisterComponents();

        public override Tensor forward(Tensor input)
        {
            long t = input.shape[1];
            var q = _q.call(input);
            var k = _k.call(input).repeat(1, 1, 2);
            var v = _v.call(input).repeat(1, 1, 2);
            var scores = q.matmul(k.transpose(1, 2)) / Math.Sqrt(Width);
            var causal = ones(t, t, dtype: ScalarType.Bool, device: input.device).tril();
            var weights = scores.masked_fill(causal.logical_not(), double.NegativeInfinity).softmax(-1);
            return _o.call(weights.matmul(v));
        }
    }

    private sealed class MiniMlp : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "gate_proj")]
        private readonly Linear _gate;
        [ComponentName(Name = "up_proj")]
        private readonly Linear _up;
        [ComponentName(Name = "down_proj")]
        private readonly Linear _down;

        public MiniMlp(bool bias = false)
            : base(nameof(MiniMlp))
        {
            _gate = nn.Linear(Width, 2 * Width, hasBias: bias);
            _up = nn.Linear(Width, 2 * Width, hasBias: bias);
            _down = nn.Linear(2 * Width, Width, hasBias: bias);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => _down.call(nn.functional.silu(_gate.call(input)) * _up.call(input));
    }

    private sealed class MiniVisual : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "blocks")]
        private readonly ModuleList<MiniVisionBlock> _blocks = new();

        public MiniVisual(int blocks)
            : base(nameof(MiniVisual))
        {
            for (int i = 0; i < blocks; i++)
            {
                _blocks.Add(new MiniVisionBlock());
            }

            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            var x = input;
            foreach (var block in _blocks)
            {
                x = block.forward(x);
            }

            return x;
        }
    }

    private sealed class MiniVisionBlock : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "attn")]
        private readonly MiniVisionAttention _attn = new();
        [ComponentName(Name = "mlp")]
        private readonly MiniMlp _mlp = new(bias: true);

        public MiniVisionBlock()
            : base(nameof(MiniVisionBlock)) => RegisterComponents();

        public override Tensor forward(Tensor input)
        {
            var h = input + _attn.forward(input);
            return h + _mlp.forward(h);
        }
    }

    private sealed class MiniVisionAttention : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "qkv")]
        private readonly Linear _qkv = nn.Linear(Width, 3 * Width);
        [ComponentName(Name = "proj")]
        private readonly Linear _proj = nn.Linear(Width, Width);

        public MiniVisionAttention()
            : base(nameof(MiniVisionAttention)) => RegisterComponents();

        public override Tensor forward(Tensor input)
        {
            var parts = _qkv.call(input).chunk(3, -1);
            var weights = parts[0].matmul(parts[1].transpose(1, 2)).div(Math.Sqrt(Width)).softmax(-1);
            return _proj.call(weights.matmul(parts[2]));
        }
    }
}

/// <summary>Two Linear modules, one invoked through <c>call</c> (hooks run) and one through <c>forward</c> (hooks skipped).</summary>
internal sealed class CallAndForward : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "called")]
    private readonly Linear _called = nn.Linear(4, 4);
    [ComponentName(Name = "direct")]
    private readonly Linear _direct = nn.Linear(4, 4);

    public CallAndForward()
        : base(nameof(CallAndForward)) => RegisterComponents();

    public override Tensor forward(Tensor input) => _direct.forward(_called.call(input));
}
