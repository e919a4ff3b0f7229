using TradeStore.Core.Trades;

namespace TradeStore.Storage.Tests;

/// <summary>A commit observer that keeps every event it is told of, in order, for a test to read from any thread.</summary>
internal sealed class EventRecorder : ICommitObserver
{
    private readonly List<TradeEvent> _events = [];

    public List<TradeEvent> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public List<long> Seqs => [.. Events.Select(e => e.Seq)];

    public void OnCommitted(IReadOnlyList<TradeEvent> events)
    {
        lock (_events)
        {
            _events.AddRange(events);
        }
    }
}
