using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace TradeStore.Core.Options;

/// <summary>Where and how the embedded DuckDB database is kept (section <c>Storage</c>).</summary>
public sealed class StorageOptions : IValidatableObject
{
    public const string SectionName = "Storage";

    /// <summary>The file name of the database inside <see cref="DataDirectory"/>.</summary>
    public const string DatabaseFileName = "tradestore.duckdb";

    /// <summary>Directory that holds <c>tradestore.duckdb</c>; created when absent.</summary>
    /// <value>Default <c>./data</c>, relative to the working directory.</value>
    [Required(AllowEmptyStrings = false, ErrorMessage = "must name a directory.")]
    public string DataDirectory { get; set; } = "./data";

    /// <summary>Whether <c>serve</c> applies pending schema migrations at start-up.</summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool AutoMigrate { get; set; } = true;

    /// <summary>Whether <c>serve</c> checks journal and state agreement before it accepts writes, and refuses to start on a problem.</summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool VerifyOnStart { get; set; } = true;

    /// <summary>
    /// The WAL size at which DuckDB folds the WAL into the database file (DuckDB's <c>checkpoint_threshold</c>),
    /// for example <c>64MB</c>. A checkpoint stalls commits for about 0.3 s on this machine whatever the WAL size,
    /// so a larger threshold means fewer stalls and more throughput, and a longer WAL replay after a crash
    /// (about 2.3 s per 100 MB; docs/benchmarks.md).
    /// </summary>
    /// <value>Default <c>64MB</c> (DuckDB's own default, 16MB, cost a quarter of insert throughput here).</value>
    [Required(AllowEmptyStrings = false, ErrorMessage = "must be a size such as 64MB.")]
    [RegularExpression(SizePattern, ErrorMessage = "must be a size such as 16MB, 64MB or 1GB.")]
    public string CheckpointThreshold { get; set; } = DefaultCheckpointThreshold;

    /// <summary>The default of <see cref="CheckpointThreshold"/>, also used by tools that open a database without configuration.</summary>
    public const string DefaultCheckpointThreshold = "64MB";

    /// <summary>
    /// What an acknowledged write survives: <c>fsync</c> (default) waits for the journal log's group commit to reach the
    /// disk, so it survives power loss; <c>os</c> does not wait, so it survives a killed process but not an OS crash or
    /// power loss (docs/write-path.md).
    /// </summary>
    /// <value>Default <see cref="DurabilityMode.Fsync"/>.</value>
    [EnumDataType(typeof(DurabilityMode), ErrorMessage = "must be fsync or os.")]
    public DurabilityMode Durability { get; set; } = DurabilityMode.Fsync;

    /// <summary>
    /// Size past which a journal log segment (<c>DIR/journal/*.log</c>) is sealed and a new one started. A sealed
    /// segment is deleted once a DuckDB checkpoint holds all its records, so this bounds the log's disk use to a few
    /// segments; smaller segments mean more checkpoints (each stalls DuckDB applies ~0.3 s, never acknowledgements).
    /// </summary>
    /// <remarks>
    /// At most 1 GiB (<see cref="MaxJournalSegmentBytes"/>): a start reads a whole segment into one array, which .NET
    /// caps just under 2 GiB. The range once went to 4 GiB, and a segment of 3,000,000,000 bytes (every segment file is
    /// zero-filled to the full size) left a start after a crash failing with an unhandled OverflowException.
    /// </remarks>
    /// <value>Default 67,108,864 (64 MiB, about 300,000 events).</value>
    [Range(65_536L, MaxJournalSegmentBytes, ErrorMessage = "must be between 65536 and 1073741824 (1 GiB) bytes.")]
    public long JournalSegmentBytes { get; set; } = 64L << 20;

    /// <summary>
    /// The largest <see cref="JournalSegmentBytes"/>: a segment is read whole into one array at a start, and one batch may
    /// carry a segment past the size by some megabytes before it is sealed; 1 GiB leaves that room below .NET's array limit.
    /// </summary>
    public const long MaxJournalSegmentBytes = 1L << 30;

    /// <summary>
    /// DuckDB's <c>threads</c> for the server's database instance. DuckDB's worker threads are shared by the writer and by
    /// <c>POST /v1/query</c> and run at normal CPU priority; with one thread, a query runs only on its own low-priority
    /// query thread and cannot take CPU from acknowledgements (docs/security.md, "Queries and the write path"). Raise
    /// it for faster analytical queries on a machine with cores to spare, at that cost.
    /// </summary>
    /// <value>Default 1.</value>
    [Range(1, 1024, ErrorMessage = "must be between 1 and 1024.")]
    public int DuckDbThreads { get; set; } = 1;

    /// <summary>
    /// DuckDB's <c>memory_limit</c> for the server's database instance, for example <c>2GB</c>: what its buffer
    /// manager may hold for queries and applies together; a query past it spills to disk or fails with 422
    /// instead of growing the process. The journal log acknowledges writes, so an apply that DuckDB refuses while a
    /// query holds the memory is retried and never delays an acknowledgement (docs/security.md).
    /// </summary>
    /// <value>Default <c>2GB</c>.</value>
    [Required(AllowEmptyStrings = false, ErrorMessage = "must be a size such as 2GB.")]
    [RegularExpression(SizePattern, ErrorMessage = "must be a size such as 512MB, 2GB or 8GiB.")]
    public string DuckDbMemoryLimit { get; set; } = "2GB";

    /// <summary>
    /// DuckDB's <c>max_temp_directory_size</c> for the server's database instance: how much a query past
    /// <see cref="DuckDbMemoryLimit"/> may spill to disk. By default nothing: measured, a query sorting 50 M strings
    /// wrote gigabytes of spill files whose write-back delayed the journal log's fdatasync, and write p99 beside the
    /// worst queries went from 16 ms to 48–58 ms. Such a query is answered 422 <c>query-memory</c> instead; heavy
    /// analytics belong on ClickHouse. Raise it (for example <c>10GB</c>) to let large queries spill, at that cost.
    /// </summary>
    /// <value>Default <c>0B</c>.</value>
    [Required(AllowEmptyStrings = false, ErrorMessage = "must be a size such as 0B or 10GB.")]
    [RegularExpression(SizePattern, ErrorMessage = "must be a size such as 0B, 512MB or 10GB.")]
    public string DuckDbMaxTempSize { get; set; } = "0B";

    /// <summary>
    /// How many copies of a crash's WAL <c>serve</c> keeps in <c>wal-backups/</c>: when a start copies a WAL there, it
    /// deletes the oldest copies past this many (the copy just made is always kept), so a service that crashes over and
    /// over cannot fill the disk with them. At least 1: the copy is the only trace of a torn WAL tail.
    /// </summary>
    /// <value>Default 10.</value>
    [Range(1, 1000, ErrorMessage = "must be between 1 and 1000.")]
    public int WalBackupsKept { get; set; } = DefaultWalBackupsKept;

    /// <summary>The default of <see cref="WalBackupsKept"/>.</summary>
    public const int DefaultWalBackupsKept = 10;

    /// <summary>
    /// The least <see cref="DuckDbMemoryLimit"/>, 64 MB. Below some megabytes DuckDB cannot even open the database or apply
    /// the journal: with <c>100000B</c> a start on an empty directory failed with "DuckDB could not read …tradestore.duckdb:
    /// Out of Memory" and advised <c>recover --from clickhouse</c> as for a damaged file; with <c>1MB</c> a migration failed.
    /// </summary>
    public const long MinDuckDbMemoryLimitBytes = 64_000_000;

    /// <summary>
    /// What a size setting accepts: a number and a unit as DuckDB reads it (B; KB, MB, GB in powers of 1000; KiB, MiB, GiB
    /// in powers of 1024), for example <c>64MB</c> or <c>1.5 GiB</c>. <see cref="ByteSize"/> reads the same text.
    /// </summary>
    public const string SizePattern = @"^\s*[0-9]+(\.[0-9]+)?\s*(B|KB|MB|GB|KiB|MiB|GiB)\s*$";

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath => Path.GetFullPath(Path.Combine(DataDirectory, DatabaseFileName));

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (DataDirectory?.Contains(NotUtf8, StringComparison.Ordinal) == true)
        {
            // .NET reads a command line, the environment and a path as UTF-8 and puts U+FFFD for a byte that is not: a
            // directory named in Latin-1 (caf\xe9) became "caf\uFFFD", and serve made a new, empty data directory by that
            // name beside the one that held the trades (session 37).
            yield return new ValidationResult(
                $"is not UTF-8: '{DataDirectory}' has bytes that are not UTF-8 (shown as {NotUtf8}), and a path is read as UTF-8, so " +
                "another directory than the one named would be opened (a new, empty one). Give the directory a UTF-8 name " +
                "(convmv -f latin1 -t utf8 --notest DIR) or point --data at a UTF-8 path to it (a symbolic link).", [nameof(DataDirectory)]);
        }

        if (ByteSize(DuckDbMemoryLimit) is { } limit && limit < MinDuckDbMemoryLimitBytes)
        {
            yield return new ValidationResult(
                $"must be at least 64MB, got '{DuckDbMemoryLimit.Trim()}': below it DuckDB cannot open the database or apply the journal.", [nameof(DuckDbMemoryLimit)]);
        }
    }

    /// <summary>U+FFFD, what .NET puts in a string for bytes that are not UTF-8.</summary>
    private const string NotUtf8 = "\uFFFD";

    /// <summary>
    /// The bytes a size such as <c>64MB</c> or <c>1.5 GiB</c> stands for, as DuckDB reads it (KB, MB, GB are powers of 1000,
    /// KiB, MiB, GiB of 1024); <see langword="null"/> when it is not such a size (the format check names that).
    /// </summary>
    private static double? ByteSize(string? size)
    {
        var text = size?.Trim() ?? string.Empty;
        var digits = text.TrimEnd("BKMGi".ToCharArray());
        var suffix = text[digits.Length..];
        double factor = suffix switch
        {
            "B" => 1,
            "KB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            "KiB" => 1L << 10,
            "MiB" => 1L << 20,
            "GiB" => 1L << 30,
            _ => 0,
        };
        return factor > 0 && double.TryParse(digits.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            ? value * factor
            : null;
    }
}
