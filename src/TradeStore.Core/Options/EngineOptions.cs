using System.ComponentModel.DataAnnotations;

namespace TradeStore.Core.Options;

/// <summary>
/// The group-commit WriteEngine (section <c>Engine</c>). The queue bounds memory under overload: when it is
/// full a command is refused at once as busy rather than waiting, so clients back off instead of piling up.
/// </summary>
public sealed class EngineOptions
{
    public const string SectionName = "Engine";

    /// <summary>Most commands the writer decides and appends to the journal log in one group commit.</summary>
    /// <value>
    /// Default 4,000. A batch only grows this large when that many commands are already waiting; each commit has a
    /// fixed cost of ~2–4 ms here, so under saturation 4,000 gave ~50% more throughput than 1,000 (docs/benchmarks.md).
    /// </value>
    [Range(1, 100_000, ErrorMessage = "must be between 1 and 100000.")]
    public int MaxBatchSize { get; set; } = 4_000;

    /// <summary>Commands that may wait for the writer; one more is refused as busy (HTTP 503).</summary>
    /// <value>Default 100,000: about one second of work at full speed.</value>
    [Range(1, 10_000_000, ErrorMessage = "must be between 1 and 10000000.")]
    public int QueueCapacity { get; set; } = 100_000;

    /// <summary>
    /// Longest time a committed change waits before the background flush writes it into <c>trade_state</c>. Reads are
    /// exact at any moment (the state index and <c>current_trade_state</c> overlay the journal tail); this only bounds
    /// how far the table lags and how much a start-up has to fold.
    /// </summary>
    /// <value>Default 200 ms: each flush is one transaction whose cost hardly depends on its size (docs/benchmarks.md).</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00", ErrorMessage = "must be between 00:00:00.001 and 01:00:00.")]
    public TimeSpan StateFlushInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Acknowledged events (durable in the journal log) that DuckDB may trail by before the writer waits for it. Bounds
    /// the memory the not-yet-applied events take while DuckDB is slow or failing; when it is reached, commands queue
    /// and, once the queue is full, are refused as busy.
    /// </summary>
    /// <value>Default 1,000,000 (about 5 s of work at full speed, some hundreds of MB at most).</value>
    [Range(1, 100_000_000, ErrorMessage = "must be between 1 and 100000000.")]
    public int MaxApplyBacklog { get; set; } = 1_000_000;

    /// <summary>
    /// Least time between two DuckDB commits of the applier, which brings <c>trade_events</c> up to date behind the journal
    /// log. A DuckDB commit costs about 2 ms of CPU whatever its size, so spacing them leaves that CPU to the
    /// acknowledgements. Reads never wait for it (they are served from memory), and a caller that needs DuckDB current
    /// (<c>POST /v1/query</c>, a flush) cuts the wait short. Redis, ClickHouse and the change feed do not
    /// wait for DuckDB (they are told by the publisher and read what DuckDB lacks from memory), so it adds nothing to
    /// their lag.
    /// </summary>
    /// <value>
    /// Default 100 ms: against 10 ms, one sequential HTTP client acknowledged 15–19 % more trades/s and 32 connections
    /// 5–9 % more, and the acknowledgement p90 at 1,000/s fell from 0.78–0.94 ms to 0.25–0.27 ms
    /// (docs/benchmarks/2026-12-01-session10.md). The cost is DuckDB's own lag, which only a caller that reads DuckDB
    /// sees, and that caller waits for it.
    /// </value>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01", ErrorMessage = "must be between 00:00:00 and 00:00:01.")]
    public TimeSpan ApplyInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How long after its request an idempotency key is remembered: a retry with the same key within it replays the
    /// first answer, also across restarts; after it the key is forgotten and the same key is a new request. Keys are
    /// kept in memory (about 90 bytes each) and loaded at start-up, so without a bound they grew with every write ever
    /// made (a 50-minute soak at 300 keyed writes/s: 909,000 keys, the process at 1 GB and its start-up at 55 s).
    /// </summary>
    /// <value>Default 24 hours, as payment APIs keep theirs: a client retries within seconds or minutes, not days.</value>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00", ErrorMessage = "must be between 00:01:00 and 3650.00:00:00.")]
    public TimeSpan IdempotencyKeyRetention { get; set; } = TimeSpan.FromHours(24);
}
