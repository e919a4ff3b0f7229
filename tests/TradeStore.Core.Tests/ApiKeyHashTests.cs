using TradeStore.Core.Security;

namespace TradeStore.Core.Tests;

public sealed class ApiKeyHashTests
{
    [Fact]
    public void Generate_KeyMatchesItsHashOnly()
    {
        var (key, hash) = ApiKeyHash.Generate();
        var (otherKey, _) = ApiKeyHash.Generate();

        Assert.True(ApiKeyHash.TryParseKey(key, out var id, out var secret));
        Assert.True(ApiKeyHash.TryParseHash(hash, out var stored, out _));
        Assert.Equal(id, stored.Id);
        Assert.True(stored.Matches(secret));
        Assert.True(ApiKeyHash.TryParseKey(otherKey, out _, out var otherSecret));
        Assert.False(stored.Matches(otherSecret));
        Assert.False(stored.Matches(secret[..^1] + (secret[^1] == 'A' ? 'B' : 'A')));
        Assert.DoesNotContain(secret, hash, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_TwiceSameSecretNeverSameHash()
    {
        var hashes = Enumerable.Range(0, 100).Select(_ => ApiKeyHash.Generate()).ToList();

        Assert.Equal(100, hashes.Select(h => h.Key).Distinct().Count());
        Assert.Equal(100, hashes.Select(h => h.Hash.Split('$')[2]).Distinct().Count());
    }

    [Theory]
    [InlineData("")]
    [InlineData("ts_")]
    [InlineData("ts_abc")]
    [InlineData("ts_abc_")]
    [InlineData("ts__secret")]
    [InlineData("xx_abc_secret")]
    public void TryParseKey_Malformed_False(string key) => Assert.False(ApiKeyHash.TryParseKey(key, out _, out _));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("pbkdf2$1$abc$def")]
    [InlineData("sha256$id$!!$AAAA")]
    [InlineData("sha256$id$AAAAAAAAAAA=$AAAA")]
    [InlineData("sha256$$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    public void TryParseHash_Malformed_FalseWithReason(string? hash)
    {
        Assert.False(ApiKeyHash.TryParseHash(hash, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }
}
