using System.Text.Json;
using System.Text.Json.Serialization;

namespace TradeStore.ClickHouse.Sync;

/// <summary>
/// What the ClickHouse sync daemon reports about itself: position, backlog, lag and the last error. Kept in memory
/// for readiness and written to <c>clickhouse-sync.json</c> beside the database, so <c>tradestore sync status</c>
/// can show it while the server holds the database, or after it stopped.
/// </summary>
public sealed record SyncStatus
{
    public string Sink { get; init; } = "clickhouse";

    public string ClickHouseUrl { get; init; } = "";

    public string ClickHouseDatabase { get; init; } = "";

    /// <summary><see cref="CheckpointSource"/> while the daemon has not read ClickHouse's own position since it started.</summary>
    public const string FromDuckDb = "duckdb";

    /// <summary><see cref="CheckpointSource"/> once the daemon has read ClickHouse's <c>max(seq)</c> or delivered a batch.</summary>
    public const string FromClickHouse = "clickhouse";

    /// <summary>The last <c>seq</c> the daemon knows ClickHouse holds (its checkpoint); <see cref="CheckpointSource"/> says how it knows.</summary>
    public long Checkpoint { get; init; }

    /// <summary>
    /// Where <see cref="Checkpoint"/> comes from: <see cref="FromClickHouse"/>, or <see cref="FromDuckDb"/> until ClickHouse
    /// has answered since the start (DuckDB's copy of the checkpoint, written behind ClickHouse's, so events behind
    /// may be overstated by what the last second delivered, never understated); <see langword="null"/> in a status
    /// written by an older version.
    /// </summary>
    public string? CheckpointSource { get; init; }

    /// <summary>The highest committed journal <c>seq</c> the daemon knows of (read from the journal at start, then from each commit).</summary>
    public long JournalLastSeq { get; init; }

    /// <summary><see cref="JournalLastSeq"/> − <see cref="Checkpoint"/>: journal events not known to be in ClickHouse.</summary>
    public long EventsBehind { get; init; }

    /// <summary>Age of the oldest event not yet in ClickHouse (0 when caught up); an upper bound.</summary>
    public double LagSeconds { get; init; }

    /// <summary><c>max(seq)</c> of ClickHouse <c>trade_events</c> when the daemon last asked.</summary>
    public long? ClickHouseMaxSeq { get; init; }

    public DateTimeOffset? LastSyncAt { get; init; }

    public string? LastError { get; init; }

    /// <summary>A stable word for the kind of the last failure, as in the <c>tradestore.sync.failures</c> metric.</summary>
    public string? LastErrorKind { get; init; }

    public DateTimeOffset? LastErrorAt { get; init; }

    /// <summary>Failures since the last success; above 0 the sync is failing and readiness says degraded.</summary>
    public int ConsecutiveFailures { get; init; }

    public DateTimeOffset? FailingSince { get; init; }

    /// <summary>The wait before the next attempt while failing.</summary>
    public double? RetryDelaySeconds { get; init; }

    /// <summary>When the next attempt is due while failing: the last failure plus <see cref="RetryDelaySeconds"/>.</summary>
    [JsonIgnore]
    public DateTimeOffset? NextRetryAt => LastErrorAt is { } at && RetryDelaySeconds is { } delay ? at + TimeSpan.FromSeconds(delay) : null;

    public int BatchSize { get; init; }

    /// <summary>Whether the daemon was running when this was written (false once it stopped).</summary>
    public bool Running { get; init; }

    public int ProcessId { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    [JsonIgnore]
    public bool Failing => ConsecutiveFailures > 0;
}

/// <summary>Reads and writes <see cref="SyncStatus"/> as <c>clickhouse-sync.json</c> in the data directory.</summary>
public static class SyncStatusFile
{
    public const string FileName = "clickhouse-sync.json";

    /// <summary>The status file that belongs to the database at <paramref name="databasePath"/>.</summary>
    public static string PathFor(string databasePath) =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(databasePath))!, FileName);

    /// <summary>Replaces the file atomically (write to a temporary file, then rename), so a reader never sees half of it.</summary>
    public static void Write(string path, SyncStatus status)
    {
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(status, SyncStatusJsonContext.Default.SyncStatus));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The last written status, or <see langword="null"/> when there is none.</summary>
    /// <exception cref="JsonException">The file is not a status file.</exception>
    public static SyncStatus? Read(string path) =>
        File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllBytes(path), SyncStatusJsonContext.Default.SyncStatus) : null;
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(SyncStatus))]
internal sealed partial class SyncStatusJsonContext : JsonSerializerContext;
