using System.Text.Json;

namespace AnatomyR1.Data;

/// <summary>
/// Loads question files of every supported <see cref="VqaFormat"/> into <see cref="VqaSample"/>s, with format
/// detection, image path resolution and per-record validation. Strict mode throws <see cref="VqaDataException"/>
/// at the first bad record; lenient mode skips bad records and reports each one.
/// </summary>
public static class VqaDataLoader
{
    /// <summary>Loads a file (or, for SSG-VQA, a folder of <c>qa_txt</c> files).</summary>
    /// <param name="path">The file or folder.</param>
    /// <param name="options">Loader options; null for the defaults.</param>
    /// <returns>The samples and the load report.</returns>
    /// <exception cref="VqaDataException">The input cannot be read or parsed, or (strict mode) a record is bad.</exception>
    public static VqaLoadResult Load(string path, VqaLoaderOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new VqaLoaderOptions();
        if (Directory.Exists(path))
        {
            if (options.Format is not (VqaFormat.Auto or VqaFormat.SsgVqaText))
            {
                throw new VqaDataException(new VqaLoadIssue(path, null, null, null, $"is a folder; only the {VqaFormat.SsgVqaText} format loads folders"));
            }

            return LoadSsgFolder(path, options);
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new VqaDataException(new VqaLoadIssue(path, null, null, null, "cannot be read: " + ex.Message), ex);
        }

        return Load(bytes, path, options);
    }

    /// <summary>Loads file content already in memory.</summary>
    /// <param name="content">The file's bytes (UTF-8, with or without a byte-order mark; UTF-16 with a BOM).</param>
    /// <param name="sourceName">The file name used in errors and <see cref="VqaSample.SourceFile"/>.</param>
    /// <param name="options">Loader options; null for the defaults.</param>
    /// <returns>The samples and the load report.</returns>
    /// <exception cref="VqaDataException">The content cannot be parsed, or (strict mode) a record is bad.</exception>
    public static VqaLoadResult Load(byte[] content, string sourceName, VqaLoaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(content);
        options ??= new VqaLoaderOptions();
        VqaFormat format = options.Format;
        if (format == VqaFormat.SsgVqaText || format == VqaFormat.Auto && sourceName.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
        {
            var (samples, issues, input) = SsgVqaTextReader.ReadFile(sourceName, content, new ImagePathResolver(options.ImageRoot, options.PrefixMaps), options);
            return new VqaLoadResult(samples, new VqaLoadReport(sourceName, VqaFormat.SsgVqaText, input, samples.Count, issues));
        }

        using var records = JsonRecords.Parse(Utf8Text.Decode(content), sourceName);
        if (format == VqaFormat.Auto)
        {
            format = Detect(records.Records, sourceName);
        }

        var images = new ImagePathResolver(options.ImageRoot, options.PrefixMaps, DefaultImageBase(sourceName, format));

        var loaded = new List<VqaSample>(records.Records.Count);
        var problems = new List<VqaLoadIssue>();
        var ids = new Dictionary<string, JsonRecords.Record>(StringComparer.Ordinal);
        foreach (var record in records.Records)
        {
            VqaLoadIssue? issue = record.Invalid;
            if (issue is null)
            {
                try
                {
                    JsonRecords.CheckDuplicateKeys(record.Element);
                    var sample = format == VqaFormat.OmniMedVqaJson
                        ? OmniMedVqaJsonReader.ReadRecord(record.Element, record.Index, record.Line, sourceName, images, options)
                        : AnatomyR1JsonReader.ReadRecord(record.Element, record.Index, record.Line, sourceName, images, options);
                    if (!ids.TryAdd(sample.SampleId, record))
                    {
                        var first = ids[sample.SampleId];
                        throw new RecordError(format == VqaFormat.OmniMedVqaJson ? "question_id" : null,
                            $"duplicate id '{sample.SampleId}': record {first.Index} (line {first.Line}) has the same id");
                    }

                    loaded.Add(sample);
                }
                catch (RecordError error)
                {
                    issue = new VqaLoadIssue(sourceName, record.Index, record.Line, error.Field, error.Message);
                }
            }

            if (issue is not null)
            {
                if (options.Strict)
                {
                    throw new VqaDataException(issue);
                }

                problems.Add(issue);
            }
        }

        return new VqaLoadResult(loaded, new VqaLoadReport(sourceName, format, records.Records.Count, loaded.Count, problems));
    }

    /// <summary>Detects the format of a file from its name and, for JSON, its first record's keys.</summary>
    /// <param name="path">The file or folder.</param>
    /// <returns>The format.</returns>
    /// <exception cref="VqaDataException">The format cannot be told.</exception>
    public static VqaFormat DetectFormat(string path)
    {
        if (Directory.Exists(path) || path.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
        {
            return VqaFormat.SsgVqaText;
        }

        using var records = JsonRecords.Parse(Utf8Text.Decode(File.ReadAllBytes(path)), path);
        return Detect(records.Records, path);
    }

    private static VqaFormat Detect(List<JsonRecords.Record> records, string file)
    {
        if (records.Count == 0)
        {
            return VqaFormat.AnatomyR1Json;
        }

        var first = records[0];
        if (AnatomyR1JsonReader.LooksLikeRecord(first.Element))
        {
            return VqaFormat.AnatomyR1Json;
        }

        if (OmniMedVqaJsonReader.LooksLikeRecord(first.Element))
        {
            return VqaFormat.OmniMedVqaJson;
        }

        string keys = first.Element.ValueKind == JsonValueKind.Object
            ? string.Join(", ", first.Element.EnumerateObject().Select(p => p.Name))
            : JsonRecords.KindName(first.Element.ValueKind);
        throw new VqaDataException(new VqaLoadIssue(file, 0, first.Line, null,
            $"cannot detect the format from the first record (keys: {keys}); expected Anatomy-R1 ('instruction', 'solution', …) or OmniMedVQA ('question', 'gt_answer', 'option_A', …)"));
    }

    /// <summary>
    /// Where relative image paths point when no image root is given: the folder holding <c>QA_information</c> for
    /// OmniMedVQA (its paths start with <c>Images/</c>), otherwise the data file's folder.
    /// </summary>
    private static string? DefaultImageBase(string sourceName, VqaFormat format)
    {
        string? folder = Path.GetDirectoryName(sourceName);
        if (string.IsNullOrEmpty(folder))
        {
            return null;
        }

        folder = Path.GetFullPath(folder);
        if (format == VqaFormat.OmniMedVqaJson)
        {
            for (var dir = new DirectoryInfo(folder); dir is not null; dir = dir.Parent)
            {
                if (string.Equals(dir.Name, "QA_information", StringComparison.OrdinalIgnoreCase) && dir.Parent is not null)
                {
                    return dir.Parent.FullName;
                }
            }
        }

        return folder;
    }

    private static VqaLoadResult LoadSsgFolder(string folder, VqaLoaderOptions options)
    {
        var images = new ImagePathResolver(options.ImageRoot, options.PrefixMaps);
        var samples = new List<VqaSample>();
        var issues = new List<VqaLoadIssue>();
        int input = 0;
        var files = Directory.EnumerateFiles(folder, "*.txt", SearchOption.AllDirectories).Order(StringComparer.Ordinal);
        foreach (string file in files)
        {
            var (fileSamples, fileIssues, fileInput) = SsgVqaTextReader.ReadFile(file, File.ReadAllBytes(file), images, options);
            samples.AddRange(fileSamples);
            issues.AddRange(fileIssues);
            input += fileInput;
        }

        return new VqaLoadResult(samples, new VqaLoadReport(folder, VqaFormat.SsgVqaText, input, samples.Count, issues));
    }
}
