using AnatomyR1.TorchSharp.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Tiny;

/// <summary>
/// Image encoder: stride-2 3×3 convolutions with SiLU, average-pooled onto a Grid × Grid map (one token per scene
/// cell), projected to the language width, plus learned row and column embeddings.
/// </summary>
public sealed class GridImageEncoder : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "convs")]
    private readonly ModuleList<Conv2d> _convs;
    [ComponentName(Name = "projector")]
    private readonly Linear _projector;
    [ComponentName(Name = "colour_projector")]
    private readonly Linear _colour;
    [ComponentName(Name = "row_embedding")]
    private readonly Parameter _rows;
    [ComponentName(Name = "col_embedding")]
    private readonly Parameter _cols;
    private readonly int _grid;

    /// <summary>Creates the encoder.</summary>
    /// <param name="config">The configuration.</param>
    public GridImageEncoder(VlmConfig config)
        : base(nameof(GridImageEncoder))
    {
        _grid = config.Grid;
        _convs = new ModuleList<Conv2d>();
        long channels = 3;
        foreach (int c in config.ConvChannels)
        {
            _convs.Add(nn.Conv2d(channels, c, 3, stride: 2, padding: 1));
            channels = c;
        }

        _projector = nn.Linear(channels, config.Width);
        _colour = nn.Linear(6, config.Width);
        _rows = new Parameter(randn(config.Grid, config.Width) * 0.02);
        _cols = new Parameter(randn(config.Grid, config.Width) * 0.02);
        RegisterComponents();
    }

    /// <summary>Encodes images [B, 3, H, W] with values in [0, 1] into Grid² tokens [B, Grid², C].</summary>
    /// <param name="input">The images.</param>
    /// <returns>The image tokens.</returns>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input.sub(FixedScalars.HalfDouble).mul(FixedScalars.TwoDouble);
        foreach (var conv in _convs)
        {
            x = nn.functional.silu(conv.forward(x));
        }

        x = nn.functional.adaptive_avg_pool2d(x, new long[] { _grid, _grid });
        var tokens = _projector.forward(x.flatten(2).transpose(1, 2));
        // Each cell's mean and peak colour, straight from the pixels: the class colours are the strongest cue.
        var mean = nn.functional.adaptive_avg_pool2d(input, new long[] { _grid, _grid });
        var peak = nn.functional.adaptive_max_pool2d(input, new long[] { _grid, _grid });
        tokens = tokens.Plus(_colour.forward(cat(new[] { mean, peak }, 1).flatten(2).transpose(1, 2)));
        var position = _rows.unsqueeze(1).Plus(_cols.unsqueeze(0)).reshape(_grid * _grid, -1);
        return tokens.Plus(position).MoveToOuterDisposeScope();
    }
}
