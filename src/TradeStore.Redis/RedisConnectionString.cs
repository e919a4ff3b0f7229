using System.Net;
using StackExchange.Redis;

namespace TradeStore.Redis;

/// <summary>
/// Checks <c>Redis:Connection</c> the way StackExchange.Redis will read it, at start-up: a value it cannot read
/// (<c>127.0.0.1:abc</c>, an unknown option) or one it reads as something else (<c>redis://host:6379</c>, taken for a
/// host named <c>redis://host</c>) used to surface only later, as a crash of the offline tools or a Redis that "did not answer".
/// </summary>
public static class RedisConnectionString
{
    private const string Form = "host:port[,host:port…][,option=value…], for example 127.0.0.1:6379 or redis.internal:6379,ssl=true";

    /// <summary>Why <paramref name="connection"/> cannot be used, or <see langword="null"/>; the value is never echoed (it may hold a password).</summary>
    public static string? Problem(string connection)
    {
        if (connection.Contains("://", StringComparison.Ordinal))
        {
            return $"is a URL, which StackExchange.Redis does not read; give {Form}.";
        }

        ConfigurationOptions parsed;
        try
        {
            parsed = ConfigurationOptions.Parse(connection);
        }
        catch (ArgumentException ex)
        {
            return $"{ex.Message.Split(" (Parameter", 2)[0].TrimEnd('.')}; give {Form}.";
        }

        if (parsed.EndPoints.Count == 0)
        {
            return $"names no endpoint StackExchange.Redis can read (a port must be a number from 1 to 65535); give {Form}.";
        }

        foreach (var endpoint in parsed.EndPoints)
        {
            if (endpoint is DnsEndPoint dns && Uri.CheckHostName(dns.Host) == UriHostNameType.Unknown)
            {
                return $"'{dns.Host}' is not a host name; give {Form}.";
            }
        }

        return null;
    }
}
