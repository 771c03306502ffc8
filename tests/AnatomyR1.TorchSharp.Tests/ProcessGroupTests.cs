using AnatomyR1.TorchSharp.Distributed;
using AnatomyR1.TorchSharp.Training.Grpo;
using Xunit;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>The process-group seam without MPI (the Open MPI path runs under mpirun in the CLI tests) and the shard options.</summary>
[Collection(TorchCollection.Name)]
public sealed class ProcessGroupTests
{
    [Fact]
    public void A_single_process_group_leaves_every_buffer_as_it_is()
    {
        var group = SingleProcessGroup.Instance;
        Assert.Equal((0, 1), (group.Rank, group.Size));
        var values = new[] { 1.5, double.NaN, -2 };
        group.AllReduce(values.AsSpan(), ReduceOp.Sum);
        Assert.Equal(new[] { 1.5, double.NaN, -2 }, values);
        using var t = tensor(new float[] { 3, 4 });
        group.AllReduce(t);
        Assert.Equal(new float[] { 3, 4 }, t.data<float>().ToArray());
        Assert.True(group.AnyProcess(true));
        Assert.False(group.AllProcesses(false));
        Assert.Throws<ArgumentOutOfRangeException>(() => group.Broadcast(new byte[1], 1));
    }

    [Fact]
    public void Without_mpirun_the_environment_gives_one_process()
    {
        if (Environment.GetEnvironmentVariable(ProcessGroups.OpenMpiSizeVariable) is not null)
        {
            return;
        }

        Assert.Same(SingleProcessGroup.Instance, ProcessGroups.FromEnvironment());
        Assert.Equal(1, ProcessGroups.LaunchedProcesses);
    }

    [Theory]
    [InlineData(8, 3, 1, "Shards")]                       // 3 does not divide 8
    [InlineData(8, 4, 4, "GradientAccumulationSteps")]    // 4 micro-batches of a 2-prompt shard
    public void Shard_options_that_cannot_cut_the_batch_are_refused_by_name(int batch, int shards, int accumulation, string name)
    {
        var options = new GrpoOptions { BatchSize = batch, Shards = shards, GradientAccumulationSteps = accumulation };
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal(name, error.ParamName);
    }

    [Fact]
    public void Shards_that_are_not_a_multiple_of_the_processes_are_refused()
    {
        var twoProcesses = new FakeGroup(rank: 1, size: 2);
        var error = Assert.Throws<ArgumentException>(() => new ShardLayout(twoProcesses, shards: 3, batchSize: 6));
        Assert.Contains("multiple of the number of processes (2)", error.Message, StringComparison.Ordinal);
        var layout = new ShardLayout(twoProcesses, shards: 4, batchSize: 8);
        Assert.Equal(new[] { 2, 3 }, layout.Local.ToArray());
        Assert.Equal(2, layout.PerShard);
        Assert.Equal(2, new ShardLayout(twoProcesses, shards: 0, batchSize: 8).Count);
    }

    /// <summary>Rank and size only: layouts never call a collective.</summary>
    private sealed class FakeGroup : IProcessGroup
    {
        public FakeGroup(int rank, int size) => (Rank, Size) = (rank, size);

        public int Rank { get; }

        public int Size { get; }

        public string Description => "layout-only";

        public void AllReduce(Span<float> values, ReduceOp op) => throw new NotSupportedException();

        public void AllReduce(Span<double> values, ReduceOp op) => throw new NotSupportedException();

        public void AllReduce(Span<long> values, ReduceOp op) => throw new NotSupportedException();

        public void Broadcast(Span<byte> bytes, int root) => throw new NotSupportedException();

        public void Barrier() => throw new NotSupportedException();

        public void Abort(int exitCode) => throw new NotSupportedException();

        public void Dispose()
        {
        }
    }
}
