using Xunit;

namespace TradeStore.TestSupport;

/// <summary>
/// Addresses of the real Redis, ClickHouse and etcd that <c>scripts/test.sh</c> starts. Outside CI a missing
/// server skips the test; under <c>CI=true</c> it fails it, so a broken set-up can never pass quietly.
/// </summary>
public static class TestServers
{
    public const string RedisVariable = "TRADESTORE_TEST_REDIS";
    public const string ClickHouseVariable = "TRADESTORE_TEST_CLICKHOUSE";
    public const string EtcdVariable = "TRADESTORE_TEST_ETCD";

    /// <summary><c>host:port</c> of the test Redis.</summary>
    public static string Redis => Require(RedisVariable, "redis-server");

    /// <summary><c>http://host:port</c> of the test ClickHouse HTTP interface.</summary>
    public static string ClickHouse => Require(ClickHouseVariable, "clickhouse-server");

    /// <summary><c>http://host:port</c> of the test etcd's client endpoint.</summary>
    public static string Etcd => Require(EtcdVariable, "etcd (Debian package etcd-server)");

    /// <summary>Debian's Chromium, which <c>scripts/test.sh</c> installs (no browser download is possible).</summary>
    public static string Chromium => File.Exists(ChromiumPath) ? ChromiumPath : Missing($"{ChromiumPath} is missing: run the suite with scripts/test.sh, which installs Debian's chromium.");

    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>Prometheus's <c>promtool</c> (Debian package <c>prometheus</c>), which <c>scripts/test.sh</c> installs.</summary>
    public static string Promtool => File.Exists(PromtoolPath) ? PromtoolPath : Missing($"{PromtoolPath} is missing: run the suite with scripts/test.sh, which installs Debian's prometheus.");

    public const string PromtoolPath = "/usr/bin/promtool";

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    private static string Require(string variable, string server)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(value))
        {
            return value;
        }

        return Missing($"{variable} is not set: run the suite with scripts/test.sh, which starts a real {server}.");
    }

    private static string Missing(string message)
    {
        if (IsCi)
        {
            Assert.Fail(message);
        }

        Assert.Skip(message);
        return string.Empty;
    }
}
