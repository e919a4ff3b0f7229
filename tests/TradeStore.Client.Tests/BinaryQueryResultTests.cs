using System.Net.Http.Json;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Parquet;
using Parquet.Schema;

namespace TradeStore.Client.Tests;

/// <summary><c>POST /v1/query</c> as Arrow IPC streams and Parquet files, read back with Apache.Arrow and Parquet.Net.</summary>
public sealed class BinaryQueryResultTests(LiveServer server) : IClassFixture<LiveServer>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Sql = "SELECT trade_id, quantity, price, version, executed_at, venue FROM current_trade_state WHERE account = '{0}' ORDER BY trade_id";

    private static readonly DateTimeOffset Executed = new DateTimeOffset(2026, 11, 30, 9, 30, 0, 123, TimeSpan.Zero).AddTicks(4560);

    private async Task<string> SeedAsync(TradeStoreClient client)
    {
        var account = $"BIN-{Guid.NewGuid():N}";
        await client.BatchAsync(
        [
            BatchCommand.Create(new NewTrade($"{account}-1", account, "AAPL", TradeSide.Buy, 0.00000001m, 9999999999.99999999m, Venue: "XNAS", ExecutedAt: Executed)),
            BatchCommand.Create(new NewTrade($"{account}-2", account, "MSFT", TradeSide.Sell, 1234567890.12345678m, 410.5m, ExecutedAt: Executed.AddDays(1))),
        ], Ct);
        // SQL sees DuckDB, which trails the acknowledgement; history answers once DuckDB holds the trade.
        await client.HistoryAsync($"{account}-1", Ct);
        await client.HistoryAsync($"{account}-2", Ct);
        return account;
    }

    [Fact]
    public async Task QueryStreamAsync_Arrow_Decimal128AndUtcMicrosecondTimesReadBackExactly()
    {
        var client = server.Client();
        var account = await SeedAsync(client);

        await using var stream = await client.QueryStreamAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, Sql, account), QueryFormat.Arrow, Ct);
        using var reader = new ArrowStreamReader(stream);
        var batch = await reader.ReadNextRecordBatchAsync(Ct);

        Assert.Equal(2, batch.Length);
        var quantity = Assert.IsType<Decimal128Type>(batch.Schema.GetFieldByName("quantity").DataType);
        Assert.Equal((18, 8), (quantity.Precision, quantity.Scale));
        var time = Assert.IsType<TimestampType>(batch.Schema.GetFieldByName("executed_at").DataType);
        Assert.Equal((TimeUnit.Microsecond, "UTC"), (time.Unit, time.Timezone));
        var quantities = (Decimal128Array)batch.Column("quantity");
        var prices = (Decimal128Array)batch.Column("price");
        Assert.Equal([0.00000001m, 1234567890.12345678m], [quantities.GetValue(0), quantities.GetValue(1)]);
        Assert.Equal([9999999999.99999999m, 410.5m], [prices.GetValue(0), prices.GetValue(1)]);
        Assert.Equal(Executed, ((TimestampArray)batch.Column("executed_at")).GetTimestamp(0));
        Assert.Equal($"{account}-1", ((StringArray)batch.Column("trade_id")).GetString(0));
        Assert.Equal(1L, ((Int64Array)batch.Column("version")).GetValue(1));
        Assert.Equal("XNAS", ((StringArray)batch.Column("venue")).GetString(0));
        Assert.True(batch.Column("venue").IsNull(1));
        Assert.Null(await reader.ReadNextRecordBatchAsync(Ct));
    }

    [Fact]
    public async Task QueryStreamAsync_Parquet_DecimalsAndUtcTimesReadBackExactly()
    {
        var client = server.Client();
        var account = await SeedAsync(client);

        await using var body = await client.QueryStreamAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, Sql, account), QueryFormat.Parquet, Ct);
        using var file = new MemoryStream();
        await body.CopyToAsync(file, Ct);
        file.Position = 0;
        await using var reader = await ParquetReader.CreateAsync(file, cancellationToken: Ct);
        var fields = reader.Schema.GetDataFields();
        using var group = reader.OpenRowGroupReader(0);
        var quantities = new decimal?[2];
        var prices = new decimal?[2];
        var times = new DateTime?[2];
        await group.ReadAsync(fields[1], quantities.AsMemory(), cancellationToken: Ct);
        await group.ReadAsync(fields[2], prices.AsMemory(), cancellationToken: Ct);
        await group.ReadAsync(fields[4], times.AsMemory(), cancellationToken: Ct);

        Assert.Equal(2, group.RowCount);
        var decimalField = Assert.IsType<DecimalDataField>(fields[1]);
        Assert.Equal((18, 8), (decimalField.Precision, decimalField.Scale));
        Assert.True(Assert.IsType<DateTimeDataField>(fields[4]).IsAdjustedToUTC);
        Assert.Equal([0.00000001m, 1234567890.12345678m], quantities);
        Assert.Equal([9999999999.99999999m, 410.5m], prices);
        Assert.Equal(Executed.UtcDateTime, times[0]);
    }

    [Theory]
    [InlineData("application/vnd.apache.arrow.stream")]
    [InlineData("application/vnd.apache.parquet")]
    public async Task Query_MoreRowsThanTheLimit_LimitRowsAndTruncatedHeader(string mediaType)
    {
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/query") { Content = JsonContent.Create(new { sql = "SELECT range AS n, range * 0.5 AS half FROM range(200000)" }) };
        request.Headers.Accept.ParseAdd(mediaType);

        using var response = await http.SendAsync(request, Ct);
        var bytes = await response.Content.ReadAsByteArrayAsync(Ct);

        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("true", response.Headers.GetValues("X-Truncated").Single());
        Assert.Equal(LiveServer.QueryMaxRows, await CountRowsAsync(mediaType, bytes));
    }

    [Fact]
    public async Task QueryStreamAsync_ArrowOfAJsonResult_SameRowsAsJson()
    {
        var client = server.Client();
        var account = await SeedAsync(client);
        var sql = string.Format(System.Globalization.CultureInfo.InvariantCulture, Sql, account);

        var json = await client.QueryAsync(sql, Ct);
        await using var stream = await client.QueryStreamAsync(sql, QueryFormat.Arrow, Ct);
        using var reader = new ArrowStreamReader(stream);
        var batch = await reader.ReadNextRecordBatchAsync(Ct);

        for (var row = 0; row < json.Rows.Count; row++)
        {
            Assert.Equal(json.Rows[row][0], ((StringArray)batch.Column(0)).GetString(row));
            Assert.Equal(json.Rows[row][1], ((Decimal128Array)batch.Column(1)).GetValue(row));
            Assert.Equal(json.Rows[row][4], ((TimestampArray)batch.Column(4)).GetTimestamp(row));
        }
    }

    private const string EveryKind = "SELECT true AS b, 1::TINYINT AS i8, 2::SMALLINT AS i16, 3::INTEGER AS i32, 4::BIGINT AS i64, 1.5::FLOAT AS f32, " +
        "2.5::DOUBLE AS f64, DATE '2026-11-30' AS d, TIMESTAMPTZ '2026-11-30 09:30:00.123456+00' AS tz, [1, 2] AS l, NULL::INTEGER AS n, 'x,y' AS s";

    [Fact]
    public async Task QueryStreamAsync_ArrowOfEveryColumnKind_TypedColumnsAndTextForTheRest()
    {
        await using var stream = await server.Client().QueryStreamAsync(EveryKind, QueryFormat.Arrow, Ct);
        using var reader = new ArrowStreamReader(stream);
        var batch = await reader.ReadNextRecordBatchAsync(Ct);

        Assert.Equal(
            [ArrowTypeId.Boolean, ArrowTypeId.Int8, ArrowTypeId.Int16, ArrowTypeId.Int32, ArrowTypeId.Int64, ArrowTypeId.Float, ArrowTypeId.Double,
             ArrowTypeId.Date32, ArrowTypeId.Timestamp, ArrowTypeId.String, ArrowTypeId.Int32, ArrowTypeId.String],
            batch.Schema.FieldsList.Select(f => f.DataType.TypeId));
        Assert.True(((BooleanArray)batch.Column("b")).GetValue(0));
        Assert.Equal((sbyte)1, ((Int8Array)batch.Column("i8")).GetValue(0));
        Assert.Equal(4L, ((Int64Array)batch.Column("i64")).GetValue(0));
        Assert.Equal(2.5, ((DoubleArray)batch.Column("f64")).GetValue(0));
        Assert.Equal(new DateOnly(2026, 11, 30), ((Date32Array)batch.Column("d")).GetDateOnly(0));
        Assert.Equal(new DateTimeOffset(2026, 11, 30, 9, 30, 0, 123, TimeSpan.Zero).AddTicks(4560), ((TimestampArray)batch.Column("tz")).GetTimestamp(0));
        Assert.Equal("[1,2]", ((StringArray)batch.Column("l")).GetString(0));
        Assert.True(batch.Column("n").IsNull(0));
        Assert.Equal("x,y", ((StringArray)batch.Column("s")).GetString(0));
    }

    [Fact]
    public async Task QueryStreamAsync_ArrowOfListsOfDecimals_JsonTextLikeEveryOtherList()
    {
        const string Lists = "SELECT [1.5::DECIMAL(18,8), 189.25::DECIMAL(18,8)] AS ld, [1, 2] AS l, ['a'] AS s, 2.5::DECIMAL(18,8) AS d";

        await using var stream = await server.Client().QueryStreamAsync(Lists, QueryFormat.Arrow, Ct);
        using var reader = new ArrowStreamReader(stream);
        var batch = await reader.ReadNextRecordBatchAsync(Ct);

        // A list of decimals is nested like the others (utf8 JSON text); only the scalar DECIMAL(18,8) is decimal128.
        Assert.Equal([ArrowTypeId.String, ArrowTypeId.String, ArrowTypeId.String, ArrowTypeId.Decimal128], batch.Schema.FieldsList.Select(f => f.DataType.TypeId));
        Assert.Equal("[1.50000000,189.25000000]", ((StringArray)batch.Column("ld")).GetString(0));
        Assert.Equal("[1,2]", ((StringArray)batch.Column("l")).GetString(0));
        Assert.Equal(2.5m, ((Decimal128Array)batch.Column("d")).GetValue(0));
    }

    [Fact]
    public async Task QueryStreamAsync_ParquetOfEveryColumnKind_ReadBackTyped()
    {
        await using var reader = await ParquetAsync(EveryKind);
        var fields = reader.Schema.GetDataFields();
        using var group = reader.OpenRowGroupReader(0);
        var flags = new bool?[1];
        var longs = new long?[1];
        var doubles = new double?[1];
        var nulls = new int?[1];
        var texts = new string?[1];
        await group.ReadAsync(fields[0], flags.AsMemory(), cancellationToken: Ct);
        await group.ReadAsync(fields[4], longs.AsMemory(), cancellationToken: Ct);
        await group.ReadAsync(fields[6], doubles.AsMemory(), cancellationToken: Ct);
        await group.ReadAsync(fields[10], nulls.AsMemory(), cancellationToken: Ct);
        await group.ReadAsync(fields[11], texts.AsMemory(), cancellationToken: Ct);

        Assert.Equal(["b", "i8", "i16", "i32", "i64", "f32", "f64", "d", "tz", "l", "n", "s"], fields.Select(f => f.Name));
        Assert.Equal((true, 4L, 2.5), (flags[0]!.Value, longs[0]!.Value, doubles[0]!.Value));
        Assert.Null(nulls[0]);
        Assert.Equal("x,y", texts[0]);
    }

    private const string Unsigned = "SELECT 255::UTINYINT AS u8, 65535::USMALLINT AS u16, 4294967295::UINTEGER AS u32, " +
        "18446744073709551615::UBIGINT AS u64, NULL::UBIGINT AS u64n";

    [Fact]
    public async Task QueryStreamAsync_ArrowOfUnsignedIntegers_UnsignedColumnsOfTheirWidthWithEveryDigit()
    {
        await using var stream = await server.Client().QueryStreamAsync(Unsigned, QueryFormat.Arrow, Ct);
        using var reader = new ArrowStreamReader(stream);
        var batch = await reader.ReadNextRecordBatchAsync(Ct);

        Assert.Equal([ArrowTypeId.UInt8, ArrowTypeId.UInt16, ArrowTypeId.UInt32, ArrowTypeId.UInt64, ArrowTypeId.UInt64],
            batch.Schema.FieldsList.Select(f => f.DataType.TypeId));
        Assert.Equal(byte.MaxValue, ((UInt8Array)batch.Column("u8")).GetValue(0));
        Assert.Equal(ushort.MaxValue, ((UInt16Array)batch.Column("u16")).GetValue(0));
        Assert.Equal(uint.MaxValue, ((UInt32Array)batch.Column("u32")).GetValue(0));
        Assert.Equal(ulong.MaxValue, ((UInt64Array)batch.Column("u64")).GetValue(0));
        Assert.True(batch.Column("u64n").IsNull(0));
    }

    [Fact]
    public async Task QueryStreamAsync_ParquetOfUnsignedIntegers_UnsignedColumnsWithEveryDigit()
    {
        await using var reader = await ParquetAsync(Unsigned);
        var fields = reader.Schema.GetDataFields();
        using var group = reader.OpenRowGroupReader(0);
        var bytes = new byte?[1];
        var words = new uint?[1];
        var longs = new ulong?[1];
        var nulls = new ulong?[1];
        await group.ReadAsync(fields[0], bytes.AsMemory(), cancellationToken: Ct);
        await group.ReadAsync(fields[2], words.AsMemory(), cancellationToken: Ct);
        await group.ReadAsync(fields[3], longs.AsMemory(), cancellationToken: Ct);
        await group.ReadAsync(fields[4], nulls.AsMemory(), cancellationToken: Ct);

        Assert.Equal([typeof(byte), typeof(ushort), typeof(uint), typeof(ulong), typeof(ulong)], fields.Select(f => f.ClrType));
        Assert.Equal((byte.MaxValue, uint.MaxValue, ulong.MaxValue), (bytes[0]!.Value, words[0]!.Value, longs[0]!.Value));
        Assert.Null(nulls[0]);
    }

    /// <summary>The Parquet answer to <paramref name="sql"/>, held in memory (a Parquet reader seeks) and opened.</summary>
    private async Task<ParquetReader> ParquetAsync(string sql)
    {
        await using var body = await server.Client().QueryStreamAsync(sql, QueryFormat.Parquet, Ct);
        var file = new MemoryStream();
        await body.CopyToAsync(file, Ct);
        file.Position = 0;
        return await ParquetReader.CreateAsync(file, cancellationToken: Ct);
    }

    private static async Task<long> CountRowsAsync(string mediaType, byte[] bytes)
    {
        long rows = 0;
        if (mediaType.Contains("arrow", StringComparison.Ordinal))
        {
            using var reader = new ArrowStreamReader(new MemoryStream(bytes));
            while (await reader.ReadNextRecordBatchAsync(Ct) is { } batch)
            {
                rows += batch.Length;
            }

            return rows;
        }

        await using var parquet = await ParquetReader.CreateAsync(new MemoryStream(bytes), cancellationToken: Ct);
        for (var g = 0; g < parquet.RowGroupCount; g++)
        {
            using var group = parquet.OpenRowGroupReader(g);
            rows += group.RowCount;
        }

        return rows;
    }
}
