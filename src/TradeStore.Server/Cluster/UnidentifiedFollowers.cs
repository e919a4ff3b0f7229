using System.Collections.Concurrent;

namespace TradeStore.Server.Cluster;

/// <summary>
/// On the leader, the followers that stream its journal log without naming their data directory's incarnation: builds
/// from before data-directory identities (2026-12-02), met during a rolling upgrade. They replicate, but their
/// acknowledgements carry no incarnation, are refused (<c>400</c> naming <c>incarnation</c>) and never count toward
/// <c>Cluster:SyncReplicas</c>; such a follower retries them silently, so without this the leader's readiness said
/// "0 synchronous follower(s) connected" while the follower visibly streamed and applied every record.
/// </summary>
/// <remarks>
/// By design the acknowledgements stay refused: an incarnation is what keeps a node restarted on an empty disk from
/// standing in for the sync member whose name it carries, and an older build cannot prove it is not one.
/// </remarks>
public sealed class UnidentifiedFollowers
{
    private readonly ConcurrentDictionary<(string Node, long Term), int> _streams = new();

    /// <summary>
    /// Records a stream of <paramref name="node"/> in <paramref name="term"/> that names no incarnation, until the returned
    /// scope is disposed (the stream ended).
    /// </summary>
    public IDisposable Streaming(string node, long term)
    {
        var key = (node, term);
        _streams.AddOrUpdate(key, 1, static (_, count) => count + 1);
        return new Scope(this, key);
    }

    /// <summary>The followers streaming in <paramref name="term"/> without an incarnation, by name (ordinal order).</summary>
    public IReadOnlyList<string> In(long term) =>
        [.. _streams.Where(s => s.Key.Term == term && s.Value > 0).Select(s => s.Key.Node).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    private void End((string Node, long Term) key)
    {
        while (_streams.TryGetValue(key, out var count))
        {
            if (count <= 1 ? _streams.TryRemove(new KeyValuePair<(string, long), int>(key, count)) : _streams.TryUpdate(key, count - 1, count))
            {
                return;
            }
        }
    }

    private sealed class Scope(UnidentifiedFollowers owner, (string Node, long Term) key) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.End(key);
            }
        }
    }
}
