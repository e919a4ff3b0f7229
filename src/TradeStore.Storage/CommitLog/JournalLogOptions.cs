using TradeStore.Core.Options;

namespace TradeStore.Storage.CommitLog;

/// <summary>How the <see cref="JournalLog"/> writes: whether an append waits for the disk, and how large a segment grows.</summary>
public sealed class JournalLogOptions
{
    /// <summary>The default <see cref="SegmentBytes"/>: 64 MiB, about 300,000 events.</summary>
    public const long DefaultSegmentBytes = 64L << 20;

    /// <summary>Whether an append returns only after <c>fdatasync</c> (see <see cref="DurabilityMode"/>).</summary>
    public DurabilityMode Durability { get; init; } = DurabilityMode.Fsync;

    /// <summary>
    /// Size past which the segment being written is sealed and a new one started. Smaller segments are recycled
    /// sooner behind DuckDB checkpoints (less disk); each roll costs a file creation and a directory sync.
    /// </summary>
    public long SegmentBytes { get; init; } = DefaultSegmentBytes;

    internal void Validate()
    {
        if (SegmentBytes < 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(SegmentBytes), SegmentBytes, "a journal log segment must be at least 4096 bytes");
        }

        if (SegmentBytes > StorageOptions.MaxJournalSegmentBytes)
        {
            // A start reads a segment whole into one array (JournalLog.ReadSegmentFile): past 2 GiB it could not be opened again.
            throw new ArgumentOutOfRangeException(nameof(SegmentBytes), SegmentBytes, "a journal log segment may be at most 1 GiB");
        }

        if (!Enum.IsDefined(Durability))
        {
            throw new ArgumentOutOfRangeException(nameof(Durability), Durability, "must be Fsync or Os");
        }
    }
}
