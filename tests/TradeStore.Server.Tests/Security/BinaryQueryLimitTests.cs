using Apache.Arrow.Ipc;
using Apache.Arrow;
using Parquet;
using TradeStore.Server.Api;
using TradeStore.Storage;
using TradeStore.Storage.Query;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Security;

/// <summary>
/// Arrow and Parquet answers are formats of the same <see cref="QueryRunner"/> as JSON and CSV: the byte limit holds
/// for them too (per record batch / row group), and a value they cannot carry is a precise refusal, not a wrong value.
/// </summary>
public sealed class BinaryQueryLimitTests : IDisposable
{
    private const long MaxResultBytes = 256 * 1024;
    private const int Rows = 20_000;

    private static readonly string Sql = $"SELECT range AS n, '{new string('x', 100)}' AS pad FROM range({Rows})";

    private readonly TempDirectory _directory = new("binary-limits");
    private readonly DuckDbDatabase _database;
    private readonly QueryRunner _runner;

    public BinaryQueryLimitTests()
    {
        _database = DuckDbDatabase.Open(_directory.DatabasePath);
        _runner = new QueryRunner(new SqlSandbox(_database), new QueryLimits(1_000_000, MaxResultBytes, TimeSpan.FromMinutes(2), 1L << 40), 1, TimeProvider.System);
    }

    public void Dispose()
    {
        _runner.Dispose();
        _database.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public async Task RunAsync_ArrowLargerThanMaxResultBytes_WholeBatchesWithinLimitTruncatedByBytes()
    {
        var output = await _runner.RunAsync(Sql, new ArrowQueryResultWriter(), TestContext.Current.CancellationToken);

        Assert.Equal(QueryTruncation.Bytes, output.Truncation);
        Assert.InRange(output.Body.Length, 1, MaxResultBytes + 8); // + the 8-byte end-of-stream marker
        using var reader = new ArrowStreamReader(new MemoryStream(output.Body.ToArray()));
        var numbers = new List<long>();
        while (await reader.ReadNextRecordBatchAsync(TestContext.Current.CancellationToken) is { } batch)
        {
            using (batch)
            {
                numbers.AddRange(((Int64Array)batch.Column("n")).Values.ToArray());
            }
        }

        Assert.Equal(output.RowCount, numbers.Count);
        Assert.InRange(numbers.Count, 1, Rows - 1);
        Assert.Equal(Enumerable.Range(0, numbers.Count).Select(i => (long)i), numbers);
    }

    [Fact]
    public async Task RunAsync_ParquetLargerThanMaxResultBytes_ReadableFileTruncatedByBytesNearTheLimit()
    {
        // Distinct values (no dictionary), large enough that even compressed they pass the limit.
        var sql = $"SELECT range AS n, range * 7919 % 104729 AS m, CAST(range AS VARCHAR) || '-' || CAST(range * 31 AS VARCHAR) AS s FROM range({Rows * 10})";

        var output = await _runner.RunAsync(sql, new ParquetQueryResultWriter(), TestContext.Current.CancellationToken);

        Assert.Equal(QueryTruncation.Bytes, output.Truncation);
        // A row group cannot be withdrawn once written; groups shrink towards the limit, so only the footer passes it.
        Assert.InRange(output.Body.Length, 1, MaxResultBytes + (16 * 1024));
        await using var reader = await ParquetReader.CreateAsync(new MemoryStream(output.Body.ToArray()), cancellationToken: TestContext.Current.CancellationToken);
        var rows = 0L;
        for (var group = 0; group < reader.RowGroupCount; group++)
        {
            using var groupReader = reader.OpenRowGroupReader(group);
            rows += groupReader.RowCount;
        }

        Assert.Equal(output.RowCount, rows);
        Assert.InRange(rows, 1, (Rows * 10) - 1);
    }

    [Theory]
    [InlineData("SELECT 'infinity'::TIMESTAMP AS at")]
    [InlineData("SELECT 'infinity'::DATE AS at")]
    public async Task RunAsync_ArrowValueWithoutCalendarForm_RefusedNamingTheColumn(string sql)
    {
        var refused = await Assert.ThrowsAsync<QueryRefusedException>(() => _runner.RunAsync(sql, new ArrowQueryResultWriter(), TestContext.Current.CancellationToken));

        Assert.Contains("\"at\"", refused.Message, StringComparison.Ordinal);
        Assert.Contains("infinity", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ArrowNanosecondTimestamp_MicrosecondUtcTime()
    {
        var output = await _runner.RunAsync("SELECT TIMESTAMP_NS '2026-11-30 09:30:00.123456789' AS at", new ArrowQueryResultWriter(), TestContext.Current.CancellationToken);

        using var reader = new ArrowStreamReader(new MemoryStream(output.Body.ToArray()));
        using var batch = await reader.ReadNextRecordBatchAsync(TestContext.Current.CancellationToken);
        Assert.Equal(new DateTimeOffset(2026, 11, 30, 9, 30, 0, 123, TimeSpan.Zero).AddTicks(4560), ((TimestampArray)batch!.Column("at")).GetTimestamp(0));
    }
}
