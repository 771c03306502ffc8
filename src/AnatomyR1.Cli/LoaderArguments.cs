using System.CommandLine;
using AnatomyR1.Data;

namespace AnatomyR1.Cli;

/// <summary>The options every data-reading command shares.</summary>
internal sealed class LoaderArguments
{
    public Option<string> Format { get; } = new("--format")
    {
        Description = "Input format: auto, anatomy-r1, omnimedvqa or ssg-vqa.",
        DefaultValueFactory = _ => "auto",
    };

    public Option<string?> Images { get; } = new("--images") { Description = "Image root folder; image paths are resolved inside it." };

    public Option<string[]> Maps { get; } = new("--map")
    {
        Description = "Image path prefix rewrite FROM=TO (repeatable), e.g. --map /CholecT45/data/=",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<bool> CheckImages { get; } = new("--check-images") { Description = "Fail records whose image file is missing." };

    public Option<bool> Lenient { get; } = new("--lenient") { Description = "Skip bad records and report them instead of stopping at the first." };

    public LoaderArguments()
    {
        Format.AcceptOnlyFromAmong("auto", "anatomy-r1", "omnimedvqa", "ssg-vqa");
        Maps.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (!token.Value.Contains('=', StringComparison.Ordinal) || token.Value.StartsWith('='))
                {
                    result.AddError($"--map '{token.Value}' must have the form FROM=TO.");
                }
            }
        });
    }

    public void AddTo(Command command)
    {
        command.Options.Add(Format);
        command.Options.Add(Images);
        command.Options.Add(Maps);
        command.Options.Add(CheckImages);
        command.Options.Add(Lenient);
    }

    public VqaLoaderOptions Build(ParseResult parse)
    {
        var options = new VqaLoaderOptions
        {
            Format = parse.GetValue(Format) switch
            {
                "anatomy-r1" => VqaFormat.AnatomyR1Json,
                "omnimedvqa" => VqaFormat.OmniMedVqaJson,
                "ssg-vqa" => VqaFormat.SsgVqaText,
                _ => VqaFormat.Auto,
            },
            ImageRoot = parse.GetValue(Images),
            CheckImages = parse.GetValue(CheckImages),
            Strict = !parse.GetValue(Lenient),
        };
        foreach (string map in parse.GetValue(Maps) ?? Array.Empty<string>())
        {
            options.PrefixMaps.Add(ImagePathPrefixMap.Parse(map));
        }

        return options;
    }
}
