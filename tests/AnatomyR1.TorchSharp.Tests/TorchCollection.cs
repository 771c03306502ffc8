using Xunit;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>
/// Every test that runs libtorch joins this collection so they run one at a time: two libtorch workloads
/// competing for two cores slow each other down by an order of magnitude.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection
{
    /// <summary>The collection name.</summary>
    public const string Name = "libtorch";
}
