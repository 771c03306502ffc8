using System.Collections.Concurrent;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>Prepares each image once per key (an image file, a training row) with one processor and keeps the result.</summary>
internal sealed class PreparedImageCache
{
    private readonly IImageProcessor _processor;
    private readonly ConcurrentDictionary<string, PreparedImage> _cache = new(StringComparer.Ordinal);

    public PreparedImageCache(IImageProcessor processor) => _processor = processor;

    public PreparedImage Get(string key, Func<PolicyImage> image) => _cache.GetOrAdd(key, _ => _processor.Prepare(image()));

    public PreparedImage File(string path) => Get("file:" + path, () => PolicyImage.FromFile(path));
}
