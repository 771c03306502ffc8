using System.Runtime.CompilerServices;
using System.Threading.Channels;
using AnatomyR1.Prompts;
using AnatomyR1.TorchSharp.Policy;
using Microsoft.Extensions.AI;
using TorchSharp;

namespace AnatomyR1.Extensions.AI;

/// <summary>
/// A trained AnatomyR1 policy as a <see cref="IChatClient"/>: the last user message carries an image and a
/// multiple-choice question (see <see cref="VqaChatRequest.From(IEnumerable{ChatMessage}, ChatOptions?, AnatomyR1ChatClientOptions)"/>); the reply is the policy's completion, a
/// <c>&lt;think&gt;</c> trace and <c>&lt;answer&gt;X&lt;/answer&gt;</c>, streamed token by token by
/// <see cref="GetStreamingResponseAsync"/>. The answer read from the completion is also given in the response's
/// additional properties (<see cref="AnswerLetterProperty"/>, <see cref="AnswerIndexProperty"/>,
/// <see cref="AnswerOptionProperty"/>).
/// </summary>
/// <remarks>
/// Requests through any <see cref="AnatomyR1ChatClient"/> over the same policy are served one at a time (a policy
/// is not safe for concurrent use; do not train it or run its ML.NET transformer concurrently either). A request
/// holds the policy until its stream is read to the end or disposed. All libtorch work of a request runs on one
/// worker thread, so TorchSharp's per-thread dispose scopes stay balanced whichever thread awaits the reply. With the
/// default temperature 0 the reply equals what <see cref="AnatomyR1.TorchSharp.Estimators.VlmTransformer"/> writes
/// for the same image and question. Request settings honoured: <c>MaxOutputTokens</c>, <c>Temperature</c>,
/// <c>TopP</c>, <c>TopK</c>, <c>Seed</c> (the last three only when sampling, i.e. temperature above 0),
/// <c>StopSequences</c> (the reply ends before the first one; no part of it is streamed); tools, response formats
/// and instructions are not supported by the policy and are ignored.
/// </remarks>
public sealed class AnatomyR1ChatClient : IChatClient
{
    /// <summary>Key in <see cref="ChatOptions.AdditionalProperties"/> for the answer options (a list of strings), instead of option lines in the text.</summary>
    public const string OptionsProperty = "anatomyr1.options";

    /// <summary>Key in the response's additional properties: the answer letter read from the completion (empty when none).</summary>
    public const string AnswerLetterProperty = "anatomyr1.answer_letter";

    /// <summary>Key in the response's additional properties: the 0-based index of the chosen option (−1 when none).</summary>
    public const string AnswerIndexProperty = "anatomyr1.answer_index";

    /// <summary>Key in the response's additional properties: the chosen option's text (empty when none).</summary>
    public const string AnswerOptionProperty = "anatomyr1.answer_option";

    // One gate per policy, shared by every client over it.
    private static readonly ConditionalWeakTable<IVisionLanguagePolicy, SemaphoreSlim> Gates = new();

    private readonly IVisionLanguagePolicy _policy;
    private readonly AnswerExtractor _extractor;
    private readonly SemaphoreSlim _gate;
    private readonly CancellationTokenSource _lifetime = new();
    private int _inFlight;
    private int _policyDisposed;
    private volatile bool _disposed;

    /// <summary>Wraps a policy.</summary>
    /// <param name="policy">The policy (e.g. <see cref="BuiltInPolicy.Load"/>, <see cref="PolicyRegistry.Load"/> or a trained transformer's <c>Policy</c>).</param>
    /// <param name="options">Settings; null takes the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public AnatomyR1ChatClient(IVisionLanguagePolicy policy, AnatomyR1ChatClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _policy = policy;
        Options = options ?? new AnatomyR1ChatClientOptions();
        if (Options.MaxOutputTokens < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.MaxOutputTokens, "MaxOutputTokens must be at least 1.");
        }

        if (Options.MaxImageBytes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.MaxImageBytes, "MaxImageBytes must be at least 1.");
        }

        CheckSampling(Options.Temperature, Options.TopP, Options.TopK, nameof(options));
        _extractor = new AnswerExtractor(Options.AnswerExtraction);
        _gate = Gates.GetValue(policy, _ => new SemaphoreSlim(1, 1));
        Metadata = new ChatClientMetadata("AnatomyR1", providerUri: null, defaultModelId: Options.ModelId);
    }

    /// <summary>The settings.</summary>
    public AnatomyR1ChatClientOptions Options { get; }

    /// <summary>What the client reports about itself.</summary>
    public ChatClientMetadata Metadata { get; }

    /// <summary>The wrapped policy.</summary>
    public IVisionLanguagePolicy Policy => _policy;

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            updates.Add(update);
        }

        var response = updates.ToChatResponse();
        response.AdditionalProperties = updates[^1].AdditionalProperties;
        return response;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var request = VqaChatRequest.From(messages, options, Options);
        var pixels = _policy.ImageProcessor.Prepare(PolicyImage.FromBytes(request.Image, request.ImageName));
        string prompt = _policy.FormatPrompt(request.Question, request.Options);
        var generation = GenerationFor(options, prompt, pixels.TokenCount, out int promptTokens);
        var stops = options?.StopSequences?.Where(s => !string.IsNullOrEmpty(s)).ToList() ?? new List<string>();

        string responseId = Guid.NewGuid().ToString("N");
        string messageId = Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow;
        string modelId = options?.ModelId ?? Options.ModelId;

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
        Interlocked.Increment(ref _inFlight);
        bool entered = false;
        try
        {
            try
            {
                await _gate.WaitAsync(stop.Token).ConfigureAwait(false);
                entered = true;
            }
            catch (OperationCanceledException) when (_disposed && !cancellationToken.IsCancellationRequested)
            {
                throw new ObjectDisposedException(nameof(AnatomyR1ChatClient), "The client was disposed while the request waited for the policy.");
            }

            var tokens = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            var worker = Task.Factory.StartNew(
                () => Generate(pixels, prompt, generation, tokens.Writer, stop.Token),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

            var ids = new List<int>();
            string text = string.Empty, emitted = string.Empty;
            bool stoppedBySequence = false;
            try
            {
                await foreach (int id in tokens.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    ObjectDisposedException.ThrowIf(_disposed, this);
                    if (stoppedBySequence)
                    {
                        continue;
                    }

                    ids.Add(id);
                    text = _policy.Decode(ids);
                    int ready = text.Length;
                    if (stops.Count > 0)
                    {
                        if (FirstStop(text, stops) is int cut and >= 0)
                        {
                            text = text[..cut];
                            ready = cut;
                            stoppedBySequence = true;
                            stop.Cancel();
                        }
                        else
                        {
                            // Hold back a tail that could still become a stop sequence.
                            ready = text.Length - LongestStopPrefixSuffix(text, stops);
                        }
                    }

                    if (ready > emitted.Length)
                    {
                        string piece = text[emitted.Length..ready];
                        emitted = text[..ready];
                        yield return Update(piece);
                    }
                }

                if (text.Length > emitted.Length)
                {
                    string rest = text[emitted.Length..];
                    emitted = text;
                    yield return Update(rest);
                }
            }
            finally
            {
                // Let the worker finish (it stops at the next token once cancelled) before the policy is released.
                stop.Cancel();
                await worker.ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            ObjectDisposedException.ThrowIf(_disposed, this);
            var (truncated, outputTokens) = worker.Result;
            var answer = _extractor.Extract(emitted, request.Options);
            var usage = new UsageDetails { InputTokenCount = promptTokens, OutputTokenCount = outputTokens, TotalTokenCount = promptTokens + outputTokens };
            yield return new ChatResponseUpdate(ChatRole.Assistant, new List<AIContent> { new UsageContent(usage) })
            {
                ResponseId = responseId,
                MessageId = messageId,
                ModelId = modelId,
                CreatedAt = created,
                FinishReason = truncated && !stoppedBySequence ? ChatFinishReason.Length : ChatFinishReason.Stop,
                AdditionalProperties = new AdditionalPropertiesDictionary
                {
                    [AnswerLetterProperty] = answer.Letter,
                    [AnswerIndexProperty] = answer.Index,
                    [AnswerOptionProperty] = answer.HasOption ? request.Options[answer.Index] : string.Empty,
                },
            };
        }
        finally
        {
            if (entered)
            {
                _gate.Release();
            }

            if (Interlocked.Decrement(ref _inFlight) == 0 && _disposed)
            {
                DisposePolicyOnce();
            }
        }

        ChatResponseUpdate Update(string piece) => new(ChatRole.Assistant, piece)
        {
            ResponseId = responseId, MessageId = messageId, ModelId = modelId, CreatedAt = created,
        };
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(ChatClientMetadata))
        {
            return Metadata;
        }

        if (serviceType.IsInstanceOfType(this))
        {
            return this;
        }

        return serviceType.IsInstanceOfType(_policy) ? _policy : null;
    }

    /// <summary>
    /// Stops the client: requests in progress end at their next token with <see cref="ObjectDisposedException"/>,
    /// waiting ones are refused, and with <see cref="AnatomyR1ChatClientOptions.DisposePolicy"/> the policy is disposed
    /// once no request of this client uses it any more.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _lifetime.Cancel();
        if (Volatile.Read(ref _inFlight) == 0)
        {
            DisposePolicyOnce();
        }
    }

    private void DisposePolicyOnce()
    {
        if (Options.DisposePolicy && Interlocked.Exchange(ref _policyDisposed, 1) == 0)
        {
            _policy.Dispose();
        }
    }

    private GenerationOptions GenerationFor(ChatOptions? options, string prompt, int imageTokens, out int promptTokens)
    {
        // The image takes its tokens; what is left after the prompt bounds the answer's length.
        int promptLength;
        using (var encoded = _policy.EncodePrompts(new[] { prompt }))
        {
            promptLength = (int)encoded.Length;
            var ids = encoded.Ids.cpu().data<long>().Select(v => (int)v).ToList();

            // Policies that put the image tokens inside the text (a placeholder expanded to the image's count) report
            // the expanded length; policies that put the image in front keep the ids, and the image's tokens add up.
            int expanded = _policy.ExpandImageTokens(ids, imageTokens).Count;
            promptTokens = expanded == ids.Count ? imageTokens + promptLength : expanded;
        }

        int room = _policy.MaxSequenceLength - promptTokens;
        if (room < 1)
        {
            throw new ArgumentException($"The question and its options take {promptLength} tokens; after the image's {imageTokens} the policy has only {_policy.MaxSequenceLength - imageTokens} text positions.");
        }

        int wanted = options?.MaxOutputTokens ?? Options.MaxOutputTokens;
        if (wanted < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), wanted, "MaxOutputTokens must be at least 1.");
        }

        double temperature = options?.Temperature ?? Options.Temperature;
        double topP = options?.TopP ?? Options.TopP;
        int topK = options?.TopK ?? Options.TopK;
        CheckSampling(temperature, topP, topK, nameof(options));
        return new GenerationOptions
        {
            NumReturnSequences = 1,
            MaxNewTokens = Math.Min(wanted, room),
            Temperature = temperature,
            TopP = topP,
            TopK = topK,
            Seed = options?.Seed ?? Options.Seed,
        };
    }

    private static void CheckSampling(double temperature, double topP, int topK, string parameter)
    {
        if (!double.IsFinite(temperature) || temperature < 0)
        {
            throw new ArgumentOutOfRangeException(parameter, temperature, "Temperature must be a finite number at least 0.");
        }

        if (!(topP > 0 && topP <= 1))
        {
            throw new ArgumentOutOfRangeException(parameter, topP, "TopP must be in (0, 1].");
        }

        if (topK < 0)
        {
            throw new ArgumentOutOfRangeException(parameter, topK, "TopK must be at least 0.");
        }
    }

    private (bool Truncated, int OutputTokens) Generate(PreparedImage pixels, string prompt, GenerationOptions generation, ChannelWriter<int> writer, CancellationToken stop)
    {
        int count = 0;
        try
        {
            _policy.SetTraining(false);
            using var scope = torch.NewDisposeScope();
            using var image = _policy.ImageProcessor.Collate(new[] { pixels }, _policy.Device);
            using var batch = _policy.EncodePrompts(new[] { prompt });
            using var result = _policy.Generate(image, batch, generation, id =>
            {
                count++;
                writer.TryWrite(id);
                return !stop.IsCancellationRequested;
            });
            writer.TryComplete();
            return (result.Truncated[0], count);
        }
        catch (Exception e)
        {
            // The reader rethrows it; the task itself completes normally so no exception goes unobserved.
            writer.TryComplete(e);
            return (true, count);
        }
    }

    private static int LongestStopPrefixSuffix(string text, List<string> stops)
    {
        int best = 0;
        foreach (string s in stops)
        {
            for (int k = Math.Min(s.Length - 1, text.Length); k > best; k--)
            {
                if (text.AsSpan(text.Length - k).SequenceEqual(s.AsSpan(0, k)))
                {
                    best = k;
                    break;
                }
            }
        }

        return best;
    }

    private static int FirstStop(string text, List<string> stops)
    {
        int best = -1;
        foreach (string s in stops)
        {
            int at = text.IndexOf(s, StringComparison.Ordinal);
            if (at >= 0 && (best < 0 || at < best))
            {
                best = at;
            }
        }

        return best;
    }
}
