using AnatomyR1.Synthetic;

namespace AnatomyR1.TorchSharp.Models.Tiny;

/// <summary>
/// The default vocabulary of the small model: the words of the SSG-VQA question templates, the synthetic scenes'
/// classes, instruments, colours, positions and relations, the reasoning-trace words and the prompt words, plus
/// every printable ASCII character (whole and as a <c>##</c> continuation) so that any other word can be spelled.
/// </summary>
public static class DefaultVocabulary
{
    private const string TemplateWords =
        "what which who where is are was at in on of the a an frame image name named that both and or there it its " +
        "anatomy anatomies thing things object objects instrument instruments tool organ region " +
        "top mid middle bottom left right centre center side above below within under over next to " +
        "red brown white yellow silver blue green pink grey gray black " +
        "options option answer think letter correct choose how many count none yes no true false " +
        "specimenbag specimen_bag blood_vessel cystic_duct cystic_artery peritoneum adhesion fluid clip";

    /// <summary>Builds the vocabulary.</summary>
    /// <returns>Tokens in id order.</returns>
    public static IReadOnlyList<string> Build()
    {
        var corpus = new List<string> { TemplateWords };
        corpus.AddRange(AnatomyClasses.All);
        corpus.AddRange(AnatomyClasses.All.Select(AnatomyClasses.SnakeCase));
        corpus.AddRange(InstrumentAppearance.All.Select(i => i.Name));
        corpus.AddRange(GridCell.All.Select(c => c.Name));
        corpus.AddRange(Enum.GetValues<SpatialRelation>().SelectMany(SpatialRelations.PhrasesOf));
        return VlmTokenizer.BuildVocabulary(corpus);
    }

    /// <summary>Creates a tokenizer with the default vocabulary.</summary>
    /// <returns>The tokenizer.</returns>
    public static VlmTokenizer CreateTokenizer() => VlmTokenizer.FromVocabulary(Build());
}
