namespace AnatomyR1.Data;

/// <summary>Resolves an image path for a record and, when asked, checks that the file exists.</summary>
internal static class ImageCheck
{
    public static string Resolve(string written, string field, ImagePathResolver images, VqaLoaderOptions options)
    {
        if (!images.TryResolve(written, out string resolved, out string? error))
        {
            throw new RecordError(field, error!);
        }

        if (options.CheckImages && !File.Exists(resolved))
        {
            throw new RecordError(field, $"the image file '{resolved}' does not exist");
        }

        return resolved;
    }
}
