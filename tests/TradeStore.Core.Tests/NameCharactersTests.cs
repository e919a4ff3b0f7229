using System.Text.RegularExpressions;
using TradeStore.Core.Trades;

namespace TradeStore.Core.Tests;

public sealed class NameCharactersTests
{
    public static TheoryData<string> Sets => ["tradeId", "code"];

    /// <summary>
    /// The OpenAPI pattern a generated client checks and the server's own check agree on every ASCII character and on
    /// the length bounds, so a client that passes the pattern is never refused for spelling.
    /// </summary>
    [Theory]
    [MemberData(nameof(Sets))]
    public void Pattern_EveryAsciiCharacterAndLength_MatchesExactlyWhatTheCheckAccepts(string set)
    {
        var characters = set == "tradeId" ? NameCharacters.TradeId : NameCharacters.Code;
        var pattern = new Regex(characters.Pattern(5), RegexOptions.ECMAScript);
        var accepted = 0;

        for (var c = (char)0; c < 128; c++)
        {
            var value = $"a{c}b";
            Assert.True(characters.IsSpelledWith(value, 5) == pattern.IsMatch(value), $"'{value}' (U+{(int)c:X4}): check and pattern disagree");
            accepted += characters.IsSpelledWith(value, 5) ? 1 : 0;
        }

        foreach (var value in new[] { "", "a", "abcde", "abcdef" })
        {
            Assert.Equal(characters.IsSpelledWith(value, 5), pattern.IsMatch(value));
        }

        Assert.Equal(set == "tradeId" ? 66 : 67, accepted); // 62 letters and digits, then '.', '_', ':', '-' (and '/')
    }

    [Fact]
    public void Described_NamesEveryMarkTheCheckAllows()
    {
        Assert.Equal("A-Z, a-z, 0-9, '.', '_', ':', '-'", NameCharacters.TradeId.Described);
        Assert.Equal("A-Z, a-z, 0-9, '.', '_', ':', '/', '-'", NameCharacters.Code.Described);
        Assert.True(NameCharacters.Code.IsSpelledWith("EUR/USD", 32));
        Assert.False(NameCharacters.TradeId.IsSpelledWith("EUR/USD", 64));
    }
}
