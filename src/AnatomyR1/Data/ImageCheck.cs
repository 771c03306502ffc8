using AnatomyR1.IO;

namespace AnatomyR1.Data;

/// <summary>
/// Resolves an image path for a record and, when asked, checks without reading it that the file exists, is a
/// regular file (not a directory, FIFO, device or socket, also through a link) and is within the size limit.
/// </summary>
internal static class ImageCheck
{
    public static string Resolve(string written, string field, ImagePathResolver images, VqaLoaderOptions options)
    {
        if (!images.TryResolve(written, out string resolved, out string? error))
        {
            throw new RecordError(field, error!);
        }

        if (options.CheckImages)
        {
            try
            {
                SafeFile.Check(resolved, new SafeFileOptions
                {
                    What = "image file",
                    MaxBytes = options.MaxImageBytes,
                    MaxBytesName = $"{nameof(VqaLoaderOptions)}.{nameof(VqaLoaderOptions.MaxImageBytes)}",
                });
            }
            catch (FileRefusedException ex)
            {
                throw new RecordError(field, $"the image file '{resolved}' {ex.Reason}");
            }
            catch (FileNotFoundException)
            {
                throw new RecordError(field, $"the image file '{resolved}' does not exist");
            }
            catch (UnauthorizedAccessException)
            {
                throw new RecordError(field, $"the image file '{resolved}' cannot be read (permission denied)");
            }
        }

        return resolved;
    }
}
