using StackExchange.Redis;

namespace TradeStore.Redis.Projection;

/// <summary>Keys matching a pattern, page by page with <c>SCAN</c> (never <c>KEYS</c>, which blocks a shared Redis).</summary>
internal static class RedisScan
{
    public static async Task<List<RedisKey>> KeysAsync(IDatabase database, string pattern, CancellationToken cancellationToken)
    {
        var keys = new List<RedisKey>();
        var cursor = "0";
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = (RedisResult[])(await database.ExecuteAsync("SCAN", cursor, "MATCH", pattern, "COUNT", 1000))!;
            cursor = (string)page[0]!;
            keys.AddRange(((RedisResult[])page[1]!).Select(k => (RedisKey)(string)k!));
        }
        while (cursor != "0");

        return [.. keys.Distinct()];
    }
}
