using AnatomyR1.Data;

namespace Microsoft.ML;

/// <summary>
/// <see cref="DataOperationsCatalog"/> extensions that load anatomy VQA files into an <see cref="IDataView"/>
/// with the <see cref="VqaColumns"/> schema.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Column</term><description>Type</description></listheader>
/// <item><term>SampleId, ImagePath, Question, CorrectLetter, Answer, AnswerClass, QuestionFamily, Modality, QuestionType, Dataset, Instruction, SourceFile</term><description>Text</description></item>
/// <item><term>Options</term><description>Variable-length vector of text</description></item>
/// <item><term>CorrectIndex, RecordIndex, Line</term><description>Int32</description></item>
/// </list>
/// </remarks>
public static class VqaDataCatalogExtensions
{
    /// <summary>Loads any supported format (detected from the file), strictly: the first bad record throws.</summary>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="path">The file, or an SSG-VQA <c>qa_txt</c> folder.</param>
    /// <param name="imageRoot">Folder image paths are resolved against; null keeps them as written.</param>
    /// <returns>The samples as a data view.</returns>
    /// <exception cref="VqaDataException">A record or the file is bad; the message names file, record, line and field.</exception>
    public static IDataView LoadVqa(this DataOperationsCatalog catalog, string path, string? imageRoot = null) =>
        catalog.LoadVqa(path, new VqaLoaderOptions { ImageRoot = imageRoot }, out _);

    /// <summary>Loads any supported format with full options and returns the load report.</summary>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="path">The file, or an SSG-VQA <c>qa_txt</c> folder.</param>
    /// <param name="options">Loader options (format, strict/lenient, image root, prefix maps, image checks).</param>
    /// <param name="report">Input, loaded and skipped counts and the issue of each skipped record.</param>
    /// <returns>The samples as a data view.</returns>
    /// <exception cref="VqaDataException">The file cannot be parsed, or (strict mode) a record is bad.</exception>
    public static IDataView LoadVqa(this DataOperationsCatalog catalog, string path, VqaLoaderOptions options, out VqaLoadReport report)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var result = VqaDataLoader.Load(path, options);
        report = result.Report;
        return catalog.LoadFromEnumerable(result.Samples);
    }

    /// <summary>Loads the Anatomy-R1 JSON format.</summary>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="path">The JSON file.</param>
    /// <param name="imageRoot">Folder image paths are resolved against; null keeps them as written.</param>
    /// <param name="prefixMaps">Image path prefix rewrites, e.g. <c>/CholecT45/data/ → ""</c>.</param>
    /// <returns>The samples as a data view.</returns>
    public static IDataView LoadAnatomyR1Json(this DataOperationsCatalog catalog, string path, string? imageRoot = null, params ImagePathPrefixMap[] prefixMaps) =>
        catalog.LoadVqa(path, WithMaps(new VqaLoaderOptions { Format = VqaFormat.AnatomyR1Json, ImageRoot = imageRoot }, prefixMaps), out _);

    /// <summary>Loads an OmniMedVQA <c>QA_information</c> JSON file.</summary>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="path">The JSON file.</param>
    /// <param name="imageRoot">The OmniMedVQA folder holding <c>Images/</c>; null keeps paths as written.</param>
    /// <returns>The samples as a data view.</returns>
    public static IDataView LoadOmniMedVqa(this DataOperationsCatalog catalog, string path, string? imageRoot = null) =>
        catalog.LoadVqa(path, new VqaLoaderOptions { Format = VqaFormat.OmniMedVqaJson, ImageRoot = imageRoot }, out _);

    /// <summary>Loads SSG-VQA <c>qa_txt</c> files (one file or a folder of <c>VIDxx</c> folders).</summary>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="path">A <c>.txt</c> file or a folder.</param>
    /// <param name="imageRoot">Folder holding <c>VIDxx/&lt;frame&gt;.png</c>; null keeps paths relative.</param>
    /// <returns>The samples as a data view (open answers: no options, CorrectIndex −1).</returns>
    public static IDataView LoadSsgVqa(this DataOperationsCatalog catalog, string path, string? imageRoot = null) =>
        catalog.LoadVqa(path, new VqaLoaderOptions { Format = VqaFormat.SsgVqaText, ImageRoot = imageRoot }, out _);

    private static VqaLoaderOptions WithMaps(VqaLoaderOptions options, ImagePathPrefixMap[] maps)
    {
        foreach (var map in maps)
        {
            options.PrefixMaps.Add(map);
        }

        return options;
    }
}
