namespace TradeStore.Client.Tests;

/// <summary>How <see cref="TradeStoreClient.QueryAsync(string, CancellationToken)"/> types values by their DuckDB column type, against the real server.</summary>
public sealed class QueryValueTests(LiveServer server) : IClassFixture<LiveServer>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task QueryAsync_DecimalColumnsWiderThan28Digits_DecimalWhenExactStringOnlyWhenNot()
    {
        var result = await server.Client().QueryAsync(
            "SELECT (SELECT sum(1.5::DECIMAL(18,8)) FROM range(3)) AS total, '18925.5'::DECIMAL(38,16) AS notional, " +
            "'-0.00000001'::DECIMAL(38,8) AS tiny, '12345678901234567890.123456789012345678'::DECIMAL(38,18) AS wide", Ct);

        // Columns this wide arrive as JSON strings; the three that fit .NET's decimal exactly are decimals with their scale.
        Assert.Equal(["DECIMAL(38,8)", "DECIMAL(38,16)", "DECIMAL(38,8)", "DECIMAL(38,18)"], result.Columns.Select(c => c.Type));
        var row = result.Rows[0];
        Assert.Equal("4.50000000", Assert.IsType<decimal>(row[0]).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("18925.5000000000000000", Assert.IsType<decimal>(row[1]).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(-0.00000001m, Assert.IsType<decimal>(row[2]));
        Assert.Equal("12345678901234567890.123456789012345678", Assert.IsType<string>(row[3])); // 38 digits: decimal would round
    }

    [Fact]
    public async Task QueryAsync_WideDecimalWhoseScaleDoesNotFitButWhoseValueDoes_Decimal()
    {
        // A book's total notional past 7.9e12 in a DECIMAL(38,16) sum: 13 integer digits and 16 of scale are more than
        // decimal's 28-29, but the trailing zeros carry no value. Before: a string (so (decimal)row[0] threw
        // InvalidCastException), because the parsed decimal's text, trailing zeros dropped, differed from the server's.
        var result = await server.Client().QueryAsync(
            "SELECT '8000000000000.5'::DECIMAL(38,16) AS notional, '-12345678901234567787.654321099'::DECIMAL(38,16) AS negative, " +
            "'8000000000000.5000000000000001'::DECIMAL(38,16) AS rounded", Ct);

        var row = result.Rows[0];
        Assert.Equal(8000000000000.5m, Assert.IsType<decimal>(row[0]));
        Assert.Equal(-12345678901234567787.654321099m, Assert.IsType<decimal>(row[1]));
        Assert.Equal("8000000000000.5000000000000001", Assert.IsType<string>(row[2])); // a digit decimal would round away
    }

    [Fact]
    public async Task QueryAsync_ListsOfDecimals_JsonTextBesideScalarDecimals()
    {
        var id = $"LD-{Guid.NewGuid():N}";
        var client = server.Client();
        await client.CreateTradeAsync(new NewTrade(id, "ACC-LD", "AAPL", TradeSide.Buy, 10m, 189.25m), cancellationToken: Ct);
        await client.FillAsync(id, 4m, 189.5m, cancellationToken: Ct);
        await client.HistoryAsync(id, Ct); // SQL sees DuckDB, which trails the acknowledgement; history answers once DuckDB holds the trade

        var result = await client.QueryAsync(
            $"SELECT [1.5::DECIMAL(18,8)] AS ld, list(price ORDER BY seq) AS prices, 2.5::DECIMAL(18,8) AS d FROM trade_events WHERE trade_id = '{id}'", Ct);

        Assert.Equal(["DECIMAL(18,8)[]", "DECIMAL(18,8)[]", "DECIMAL(18,8)"], result.Columns.Select(c => c.Type));
        Assert.Equal(["[1.50000000]", "[189.25000000,189.25000000]", 2.5m], result.Rows[0]);
    }

    [Fact]
    public async Task QueryAsync_DateColumn_DateOnlyAndTextWithoutACalendarForm()
    {
        var result = await server.Client().QueryAsync("SELECT DATE '2026-11-30' AS d, 'infinity'::DATE AS never, NULL::DATE AS none", Ct);

        Assert.Equal([new DateOnly(2026, 11, 30), "infinity", null], result.Rows[0]);
    }

    [Fact]
    public async Task QueryAsync_UbigintAndHugeintColumns_UlongAndInt128WithEveryDigit()
    {
        var result = await server.Client().QueryAsync(
            "SELECT 18446744073709551615::UBIGINT AS ubig_max, 9223372036854775808::UBIGINT AS ubig_past_long, " +
            "'-170141183460469231731687303715884105728'::HUGEINT AS huge_min, 170141183460469231731687303715884105727::HUGEINT AS huge_max, " +
            "-18446744073709551617::HUGEINT AS huge_negative, 340282366920938463463374607431768211455::UHUGEINT AS uhuge_max, " +
            "NULL::HUGEINT AS huge_null", Ct);

        Assert.Equal(["UBIGINT", "UBIGINT", "HUGEINT", "HUGEINT", "HUGEINT", "UHUGEINT", "HUGEINT"], result.Columns.Select(c => c.Type));
        var row = result.Rows[0];
        Assert.Equal(ulong.MaxValue, Assert.IsType<ulong>(row[0]));
        Assert.Equal(9_223_372_036_854_775_808UL, Assert.IsType<ulong>(row[1]));
        Assert.Equal(Int128.MinValue, Assert.IsType<Int128>(row[2]));
        Assert.Equal(Int128.MaxValue, Assert.IsType<Int128>(row[3]));
        Assert.Equal(-(Int128)ulong.MaxValue - 2, Assert.IsType<Int128>(row[4]));
        Assert.Equal(UInt128.MaxValue, Assert.IsType<UInt128>(row[5]));
        Assert.Null(row[6]);
    }

    [Fact]
    public async Task QueryAsync_NonFiniteFloatingPoint_DoubleLikeFiniteValues()
    {
        var result = await server.Client().QueryAsync(
            "SELECT 'nan'::DOUBLE AS nan, 'inf'::DOUBLE AS inf, '-inf'::FLOAT AS minus_inf, 1.5::DOUBLE AS finite", Ct);

        var row = result.Rows[0];
        Assert.True(double.IsNaN(Assert.IsType<double>(row[0])));
        Assert.Equal(double.PositiveInfinity, Assert.IsType<double>(row[1]));
        Assert.Equal(double.NegativeInfinity, Assert.IsType<double>(row[2]));
        Assert.Equal(1.5, Assert.IsType<double>(row[3]));
    }
}
