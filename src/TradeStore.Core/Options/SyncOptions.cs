using System.ComponentModel.DataAnnotations;

namespace TradeStore.Core.Options;

/// <summary>
/// The ClickHouse sync daemon (section <c>ClickHouse:Sync</c>): batching, flushing and backoff. Nested under
/// <see cref="ClickHouseOptions"/> because it only runs when ClickHouse is configured.
/// </summary>
public sealed class SyncOptions : IValidatableObject
{
    /// <summary>Smallest journal read (events per INSERT): the starting size and the floor after failures.</summary>
    /// <value>Default 500.</value>
    [Range(1, 1_000_000, ErrorMessage = "must be between 1 and 1000000.")]
    public int BatchMin { get; set; } = 500;

    /// <summary>Largest journal read; the batch doubles up to this while the sync is behind.</summary>
    /// <value>Default 50,000 (an INSERT of that size takes about 70 ms on ClickHouse 18.16 here).</value>
    [Range(1, 1_000_000, ErrorMessage = "must be between 1 and 1000000.")]
    public int BatchMax { get; set; } = 50_000;

    /// <summary>
    /// Least time between two INSERTs unless a full batch is waiting. By design 100 ms: every INSERT is a new
    /// ClickHouse part, so flushing on each commit would outrun the merges; 100 ms keeps lag far below 250 ms.
    /// </summary>
    /// <value>Default 100 ms.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00", ErrorMessage = "must be between 00:00:00.001 and 00:01:00.")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>First retry delay after a failure; later delays grow exponentially with jitter.</summary>
    /// <value>Default 200 ms.</value>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00", ErrorMessage = "must be between 00:00:00.010 and 00:10:00.")]
    public TimeSpan BackoffMin { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Cap of the retry delay; the daemon never gives up, it retries at least this often.</summary>
    /// <value>Default 30 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00", ErrorMessage = "must be between 00:00:00.010 and 01:00:00.")]
    public TimeSpan BackoffMax { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Readiness reports ClickHouse <c>degraded</c> when the oldest unsynced event is older than this.</summary>
    /// <value>Default 5 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00", ErrorMessage = "must be between 00:00:00.100 and 1.00:00:00.")]
    public TimeSpan DegradedLag { get; set; } = TimeSpan.FromSeconds(5);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (BatchMin > BatchMax)
        {
            yield return new ValidationResult($"must not exceed BatchMax ({BatchMax}), got {BatchMin}.", [nameof(BatchMin)]);
        }

        if (BackoffMin > BackoffMax)
        {
            yield return new ValidationResult($"must not exceed BackoffMax ({BackoffMax}), got {BackoffMin}.", [nameof(BackoffMin)]);
        }
    }
}
