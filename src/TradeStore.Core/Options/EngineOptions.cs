using System.ComponentModel.DataAnnotations;

namespace TradeStore.Core.Options;

/// <summary>
/// The group-commit WriteEngine (section <c>Engine</c>). The queue bounds memory under overload: when it is
/// full a command is refused at once as busy rather than waiting, so clients back off instead of piling up.
/// </summary>
public sealed class EngineOptions
{
    public const string SectionName = "Engine";

    /// <summary>Most commands the writer decides and commits in one DuckDB transaction.</summary>
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
}
