// Data-parallel GRPO through the ML.NET estimator: start it with Open MPI and every process runs this same program.
//
//   mpirun -np 2 dotnet samples/DataParallelGrpo/bin/Release/net10.0/DataParallelGrpo.dll [steps] [output folder]
//
// The GRPO trainer finds the job by itself (GrpoOptions.ProcessGroup = null): each process rolls out its half of every
// step's prompts, gradients and batch statistics are summed over the processes, and all apply the same AdamW step.
// Only the first process writes the run folder. As a check, the first process then trains again alone with the same
// two shards (GrpoOptions.Shards = 2) and compares the weights: they must be identical to the bit.
// Without mpirun the program trains once with two shards in one process.
using System.Globalization;
using AnatomyR1;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Distributed;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training.Grpo;
using Microsoft.ML;

int steps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 4;
string output = args.Length > 1 ? args[1] : Path.Combine(Path.GetTempPath(), "anatomyr1-data-parallel");
using var job = ProcessGroups.FromEnvironment();
bool main = job.Rank == 0;
string data = Path.Combine(output, "data");
if (main)
{
    Directory.CreateDirectory(output);
    SyntheticDatasetWriter.Write(data, new SyntheticDatasetOptions { Count = 120, Seed = 7 }, overwrite: true);
}

job.Barrier();   // the data exists before any process reads it
var mlContext = new MLContext(seed: 0);
IDataView train = mlContext.Data.LoadAnatomyR1Json(Path.Combine(data, "train.json"));

byte[] Train(IProcessGroup? processes, string run)
{
    var trainer = mlContext.AnatomyR1().Grpo(new GrpoTrainerOptions
    {
        Grpo = new GrpoOptions { Steps = steps, BatchSize = 8, NumGenerations = 4, Seed = 3, Shards = 2, ProcessGroup = processes, CheckpointEvery = 2 },
        RunFolder = run,
        Device = "cpu",
    });
    var model = trainer.Fit(train);
    string folder = Path.Combine(Path.GetTempPath(), $"anatomyr1-dp-{Environment.ProcessId}-{Guid.NewGuid():N}");
    model.Policy.Save(folder);
    byte[] weights = File.ReadAllBytes(Path.Combine(folder, "model.safetensors"));
    Directory.Delete(folder, recursive: true);
    model.Dispose();
    Console.WriteLine($"process {job.Rank} of {job.Size} ({job.Description}): {trainer.History.Count} steps, last reward {trainer.History[^1]["reward"]:0.000}");
    return weights;
}

byte[] trained = Train(null, Path.Combine(output, "run"));
if (!main || job.Size == 1)
{
    return 0;
}

byte[] alone = Train(SingleProcessGroup.Instance, Path.Combine(output, "run-one-process"));
bool same = trained.AsSpan().SequenceEqual(alone);
Console.WriteLine($"{job.Size} processes vs one process with the same shards: weights {(same ? "identical" : "DIFFERENT")}");
return same ? 0 : 1;
