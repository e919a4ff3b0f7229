using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using TradeStore.Core.Metrics;
using TradeStore.Core.Trades;

namespace TradeStore.Server.Changes;

/// <summary>
/// The live half of <c>GET /v1/changes</c>: told of every commit by the WriteEngine (<see cref="ICommitObserver"/>),
/// it hands each batch to every subscriber's bounded queue. On the publisher's thread it only wraps the batch and
/// appends it (no I/O, no JSON, no lock held while a subscriber is busy), so subscribers never hold up the writer.
/// History comes from the journal (<see cref="ChangeStream"/>); this only carries what is committed from now on.
/// </summary>
public sealed class ChangeFeed : ICommitObserver
{
    /// <summary>Meter of the change-feed instruments (exported on <c>/metrics</c>).</summary>
    public const string MeterName = "TradeStore.Changes";

    private readonly Lock _gate = new();
    private readonly ChangeFeedOptions _options;
    /// <summary>Why the server closes a stream (the <c>reason</c> tag of <c>tradestore.changes.disconnects</c>, each exported from the start).</summary>
    private static readonly string[] DisconnectReasons = ["lagging", "shutdown", "gap"];

    private readonly ZeroBasedCounter _disconnects;
    private readonly CounterSeries _sent;
    private ChangeSubscription[] _subscribers = [];
    // Admission is rare (one per stream opened) next to the events sent, so one plain lock keeps both counts exact.
    private readonly Lock _admission = new();
    private readonly Dictionary<string, int> _streamsByKey = new(StringComparer.Ordinal);
    private int _streams;
    private long _laggingDisconnects;

    public ChangeFeed(IOptions<ChangeFeedOptions> options, IMeterFactory meterFactory)
    {
        _options = options.Value;
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge("tradestore.changes.subscribers", () => Volatile.Read(ref _streams), "{subscriber}",
            "Open GET /v1/changes streams.");
        meter.CreateObservableGauge("tradestore.changes.queued", () => Volatile.Read(ref _subscribers).Sum(s => (long)s.Queued), "{event}",
            "Committed events waiting to be written to change-feed subscribers.");
        _sent = new ZeroBasedCounter(meter, "tradestore.changes.events", "{event}", "Events written to change-feed subscribers.").Series();
        _disconnects = new ZeroBasedCounter(meter, "tradestore.changes.disconnects", "{subscriber}",
            "Change-feed streams closed by the server, by reason (lagging, shutdown, gap).", "reason");
        foreach (var reason in DisconnectReasons)
        {
            _disconnects.Series(reason);
        }
    }

    /// <summary>Open streams (replaying or live).</summary>
    public int StreamCount => Volatile.Read(ref _streams);

    /// <summary>
    /// Takes a stream slot for the caller with API key <paramref name="keyName"/> (<see langword="null"/>: no key).
    /// Refused when <c>Changes:MaxSubscribers</c> streams are open, or this key holds <c>Changes:MaxSubscribersPerKey</c>.
    /// Give an admitted slot back with <see cref="Release"/> and the same key name.
    /// </summary>
    public SubscriberAdmission TryAdmit(string? keyName)
    {
        lock (_admission)
        {
            if (_streams >= _options.MaxSubscribers)
            {
                return SubscriberAdmission.ServerFull;
            }

            if (keyName is not null)
            {
                var held = _streamsByKey.GetValueOrDefault(keyName);
                if (held >= _options.MaxSubscribersPerKey)
                {
                    return SubscriberAdmission.KeyFull;
                }

                _streamsByKey[keyName] = held + 1;
            }

            Volatile.Write(ref _streams, _streams + 1);
            return SubscriberAdmission.Admitted;
        }
    }

    /// <summary>Gives back a slot taken by <see cref="TryAdmit"/> for the same <paramref name="keyName"/>.</summary>
    public void Release(string? keyName)
    {
        lock (_admission)
        {
            if (keyName is not null && _streamsByKey.TryGetValue(keyName, out var held))
            {
                if (held <= 1)
                {
                    _streamsByKey.Remove(keyName);
                }
                else
                {
                    _streamsByKey[keyName] = held - 1;
                }
            }

            Volatile.Write(ref _streams, _streams - 1);
        }
    }

    /// <summary>
    /// Only while a stream is subscribed. A stream subscribes before it reads the published seq it replays up to, so a
    /// batch marked published while no stream listened is in its replay.
    /// </summary>
    public bool IsListening => Volatile.Read(ref _subscribers).Length > 0;

    public void OnCommitted(IReadOnlyList<TradeEvent> events)
    {
        var subscribers = Volatile.Read(ref _subscribers);
        if (subscribers.Length == 0 || events.Count == 0)
        {
            return;
        }

        var batch = new ChangeBatch(events);

        foreach (var subscriber in subscribers)
        {
            subscriber.Offer(batch);
        }
    }

    /// <summary>A new subscription that receives every batch committed from now on.</summary>
    public ChangeSubscription Subscribe()
    {
        lock (_gate)
        {
            var subscription = new ChangeSubscription(this, _options.MaxLagEvents);
            _subscribers = [.. _subscribers, subscription];
            return subscription;
        }
    }

    internal void Remove(ChangeSubscription subscription)
    {
        lock (_gate)
        {
            _subscribers = _subscribers.Where(s => !ReferenceEquals(s, subscription)).ToArray();
        }
    }

    internal void CountSent(int events) => _sent.Add(events);

    /// <summary>Streams closed so far because their subscriber fell more than <c>Changes:MaxLagEvents</c> behind.</summary>
    public long LaggingDisconnects => Interlocked.Read(ref _laggingDisconnects);

    internal void CountDisconnect(string reason)
    {
        if (reason == "lagging")
        {
            Interlocked.Increment(ref _laggingDisconnects);
        }

        _disconnects.Series(reason).Add();
    }
}

/// <summary>The answer of <see cref="ChangeFeed.TryAdmit"/>.</summary>
public enum SubscriberAdmission
{
    Admitted,

    /// <summary><c>Changes:MaxSubscribers</c> streams are open.</summary>
    ServerFull,

    /// <summary>The caller's key holds <c>Changes:MaxSubscribersPerKey</c> streams.</summary>
    KeyFull,
}
