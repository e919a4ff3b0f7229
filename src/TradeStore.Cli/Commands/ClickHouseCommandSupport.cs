using System.CommandLine;
using System.Net.Sockets;
using TradeStore.ClickHouse;
using TradeStore.Server.Configuration;
using TradeStore.Storage;

namespace TradeStore.Cli.Commands;

/// <summary>What the ClickHouse operator commands share: settings, the client, opening an existing database.</summary>
internal static class ClickHouseCommandSupport
{
    /// <summary>The settings, or <see langword="null"/> (after printing why) when ClickHouse is not configured.</summary>
    public static TradeStoreSettings? RequireClickHouse(ParseResult parseResult)
    {
        var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
        if (!settings.ClickHouse.Enabled)
        {
            parseResult.InvocationConfiguration.Error.WriteLine(
                "tradestore: ClickHouse is not configured: set ClickHouse:Url (environment TRADESTORE__CLICKHOUSE__URL).");
            return null;
        }

        return settings;
    }

    public static ClickHouseClient Client(TradeStoreSettings settings) => ClickHouseClient.Create(settings.ClickHouse);

    /// <summary>
    /// Opens the database read-only, and only if its file exists: an operator check must neither create an empty one
    /// by mistake nor change the one it checks.
    /// </summary>
    public static DuckDbDatabase? OpenExistingReadOnly(TradeStoreSettings settings, TextWriter error)
    {
        var path = settings.Storage.DatabasePath;
        if (!DatabaseFiles.Exists(path))
        {
            error.WriteLine($"tradestore: there is no database at {path} (check --data or Storage:DataDirectory).");
            return null;
        }

        return DuckDbDatabase.OpenReadOnly(path);
    }

    /// <summary>Whether <paramref name="exception"/> is ClickHouse being unreachable or refusing: reported, not a crash.</summary>
    public static bool IsClickHouseFailure(Exception exception) =>
        exception is ClickHouseException or HttpRequestException or TimeoutException or SocketException;
}
