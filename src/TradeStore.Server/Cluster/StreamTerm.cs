using TradeStore.Cluster;

namespace TradeStore.Server.Cluster;

/// <summary>
/// The end of the term a replication request (stream or acknowledgements) was opened in: <see cref="Ended"/> completes
/// and <see cref="Token"/> is cancelled once <see cref="ReplicationHub.Streams"/> turns false for it. Woken by
/// <see cref="ClusterState.Changed"/>, so a request ends the moment this node stops leading or has handed over at
/// shutdown, not at its next heartbeat or when the HTTP server's shutdown timeout aborts it.
/// </summary>
internal sealed class StreamTerm : IDisposable
{
    private readonly ClusterState _state;
    private readonly ReplicationHub _hub;
    private readonly long _term;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>By design never disposed: it holds no timer and no wait handle, and a late cancel must not throw.</summary>
    private readonly CancellationTokenSource _cancel = new();

    public StreamTerm(ClusterState state, ReplicationHub hub, long term)
    {
        _state = state;
        _hub = hub;
        _term = term;
        _state.Changed += OnChanged;
        OnChanged();
    }

    /// <summary>Completes when the term ended here (continuations run asynchronously, never on the coordinator's thread).</summary>
    public Task Ended => _ended.Task;

    /// <summary>Cancelled when the term ended here (callbacks run on the thread pool).</summary>
    public CancellationToken Token => _cancel.Token;

    public void Dispose() => _state.Changed -= OnChanged;

    private void OnChanged()
    {
        if (!_hub.Streams(_term) && _ended.TrySetResult())
        {
            _ = _cancel.CancelAsync();
        }
    }
}
