namespace TradeStore.Storage.CommitLog;

public sealed partial class JournalLog
{
    /// <summary>
    /// Every intact record left in the segments of <paramref name="directory"/>, in seq order, found by reading past
    /// damage instead of stopping at it (<c>recover --from duckdb</c>): after a record that does not read, the scan goes on
    /// at each following 8-byte boundary until a record's length, seq and checksum hold again. Changes nothing.
    /// </summary>
    /// <param name="directory">The folder of the segments.</param>
    /// <param name="cancellationToken">Checked before each segment and each record read (<c>recover</c> stopped with Ctrl-C).</param>
    /// <exception cref="JournalLogCorruptException">Two intact records carry the same seq with different contents: which one was acknowledged cannot be told.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static IReadOnlyList<LogRecord> SalvageIntact(string directory, CancellationToken cancellationToken = default)
    {
        var bySeq = new SortedDictionary<long, (LogRecord Record, string File, long Offset)>();
        if (!System.IO.Directory.Exists(directory))
        {
            return [];
        }

        foreach (var (path, _) in SegmentFilesIn(directory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var bytes = ReadSegmentFile(path, cancellationToken);
            var offset = SegmentHeaderSize;
            while (offset + LogRecordFormat.HeaderSize <= bytes.Length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (LogRecordFormat.TryRead(bytes.AsSpan(offset), out var size) is not { } record)
                {
                    // Zeros are unused room: skipped in one step (to the end of the file, or to the next written bytes).
                    var written = bytes.AsSpan(offset).IndexOfAnyExcept((byte)0);
                    if (written < 0)
                    {
                        break;
                    }

                    offset += Math.Max(8, written & ~7);
                    continue;
                }

                if (bySeq.TryGetValue(record.Seq, out var known) && known.Record.Checksum != record.Checksum)
                {
                    throw new JournalLogCorruptException(path, offset,
                        $"two intact records hold seq {record.Seq} with different contents (the other in {known.File} at byte offset {known.Offset}), so " +
                        "which one was acknowledged cannot be told");
                }

                bySeq[record.Seq] = (record, path, offset);
                offset += size;
            }
        }

        return [.. bySeq.Values.Select(v => v.Record)];
    }

    /// <summary>
    /// The newest segment file of <paramref name="directory"/> by its name (the first seq it holds), whatever its bytes;
    /// <see langword="null"/> when there is none. Every seq below that name was in the log: a segment is created only
    /// once the append that filled its predecessor is durable, so the name vouches for records a damaged predecessor no
    /// longer shows (<c>recover --from duckdb</c>).
    /// </summary>
    /// <param name="directory">The folder of the segments.</param>
    public static (string File, long FirstSeq)? NewestSegmentByName(string directory) =>
        System.IO.Directory.Exists(directory) && SegmentFilesIn(directory) is [.., var newest] ? (Path.GetFileName(newest.Path), newest.FirstSeq) : null;
}
