using System.CommandLine;
using System.Text.RegularExpressions;

namespace AnatomyR1.Cli;

/// <summary>The <c>--device</c> option shared by the commands that run a policy; unknown spellings are a usage error that lists the valid ones.</summary>
internal static partial class DeviceOption
{
    public const string Spellings = "auto, cpu, cuda, cuda:N (N = 0, 1, …)";

    public static Option<string> Create(string description = "auto, cpu, cuda or cuda:N.")
    {
        var option = new Option<string>("--device") { Description = description, DefaultValueFactory = _ => "auto" };
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (!Valid().IsMatch(token.Value.Trim()))
                {
                    result.AddError($"--device '{token.Value}' is not a device; valid spellings: {Spellings}.");
                }
            }
        });
        return option;
    }

    [GeneratedRegex("^(auto|cpu|cuda|cuda:[0-9]+)$", RegexOptions.IgnoreCase)]
    private static partial Regex Valid();
}
