using TradeStore.Storage.Query;

namespace TradeStore.Storage.Tests;

/// <summary>
/// <see cref="DecimalType.TryParse"/> takes only a scalar <c>DECIMAL(p,s)</c>: the Arrow and Parquet writers and the
/// column plan rely on it, and a list of decimals (<c>DECIMAL(18,8)[]</c>) once passed a prefix test for a decimal.
/// </summary>
public sealed class DecimalTypeTests
{
    [Theory]
    [InlineData("DECIMAL(18,8)", 18, 8)]
    [InlineData("DECIMAL(38,16)", 38, 16)]
    [InlineData("DECIMAL(4, 0)", 4, 0)]
    public void TryParse_ScalarDecimal_PrecisionAndScale(string type, int precision, int scale)
    {
        Assert.True(DecimalType.TryParse(type, out var parsed));
        Assert.Equal(new DecimalType(precision, scale), parsed);
    }

    [Theory]
    [InlineData("DECIMAL(18,8)[]")]
    [InlineData("DECIMAL(18,8)[2]")]
    [InlineData("DECIMAL(18,8)[][]")]
    [InlineData("STRUCT(a DECIMAL(18,8))")]
    [InlineData("MAP(VARCHAR, DECIMAL(18,8))")]
    [InlineData("DECIMAL")]
    [InlineData("DOUBLE")]
    public void TryParse_AnythingElse_False(string type)
    {
        Assert.False(DecimalType.TryParse(type, out _));
    }

    [Fact]
    public void Plan_ListOfDecimals_IsJsonNotANativeDecimal()
    {
        Assert.Equal(QueryValueKind.Json, QueryColumns.Plan("ld", "DECIMAL(18,8)[]").Kind);
        Assert.Equal(QueryValueKind.Native, QueryColumns.Plan("d", "DECIMAL(18,8)").Kind);
        Assert.Equal(QueryValueKind.Text, QueryColumns.Plan("w", "DECIMAL(38,8)").Kind);
    }
}
