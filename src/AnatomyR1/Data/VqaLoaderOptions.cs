namespace AnatomyR1.Data;

/// <summary>Options for loading question files. Every field has a documented default.</summary>
public sealed class VqaLoaderOptions
{
    /// <summary>The file format. Default: <see cref="VqaFormat.Auto"/>.</summary>
    public VqaFormat Format { get; set; } = VqaFormat.Auto;

    /// <summary>
    /// Strict mode (default <c>true</c>) fails the load at the first bad record with a <see cref="VqaDataException"/>.
    /// Lenient mode skips bad records and lists them in the <see cref="VqaLoadReport"/>; a file that cannot be
    /// parsed at all (malformed or truncated JSON, or bytes that are not valid UTF-8 outside any one record) fails in
    /// both modes.
    /// </summary>
    public bool Strict { get; set; } = true;

    /// <summary>
    /// Folder that image paths are resolved against. When set, every path is taken relative to this folder (a
    /// leading '/' is dropped) and a path that escapes it (through '..', or through a symbolic link inside it that
    /// points outside it) is an error; links that stay inside are fine. Default: null, which keeps
    /// absolute paths as written (trimmed; after <see cref="PrefixMaps"/>) and resolves relative ones against the
    /// data file's folder (for OmniMedVQA: the folder holding <c>QA_information</c>; SSG-VQA paths stay relative).
    /// </summary>
    public string? ImageRoot { get; set; }

    /// <summary>
    /// Prefix rewrites applied to image paths before joining them to <see cref="ImageRoot"/>, first match wins.
    /// Example: <c>/CholecT45/data/ → ""</c> maps the published Anatomy-R1 paths into a local CholecT45 copy.
    /// Default: none.
    /// </summary>
    public IList<ImagePathPrefixMap> PrefixMaps { get; } = new List<ImagePathPrefixMap>();

    /// <summary>
    /// Whether a missing image file is an error (field <c>images</c>/<c>image_path</c>), and so is one that is not a
    /// regular file (a directory, FIFO, device or socket, also through a link) or is larger than
    /// <see cref="MaxImageBytes"/>; the files are checked, not read. Default: <c>false</c>.
    /// </summary>
    public bool CheckImages { get; set; }

    /// <summary>
    /// With <see cref="CheckImages"/>: the largest image file accepted, in bytes, compared with the file's size
    /// without reading it. Default: 256 MiB (<see cref="IO.SafeFile.DefaultMaxBytes"/>, the limit with which
    /// <c>PolicyImage</c> reads images).
    /// </summary>
    public long MaxImageBytes { get; set; } = IO.SafeFile.DefaultMaxBytes;

    /// <summary>
    /// SSG-VQA only: where a question file's image lies relative to <see cref="ImageRoot"/>, with <c>{video}</c>
    /// (the folder of the <c>.txt</c>, e.g. <c>VID01</c>) and <c>{frame}</c> (its file name without extension).
    /// Default: <c>{video}/{frame}.png</c>.
    /// </summary>
    public string SsgImagePattern { get; set; } = "{video}/{frame}.png";
}
