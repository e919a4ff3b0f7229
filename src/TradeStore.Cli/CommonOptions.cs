using System.CommandLine;
using Microsoft.Extensions.Configuration;
using TradeStore.Core.Options;
using TradeStore.Server.Configuration;

namespace TradeStore.Cli;

/// <summary>Options shared by every command that reads configuration or opens the database.</summary>
public static class CommonOptions
{
    public static readonly Option<string?> Config = new("--config")
    {
        Description = "A JSON configuration file layered above appsettings.json (below secrets.toml, .env, environment and flags).",
        HelpName = "FILE",
        Recursive = true,
    };

    public static readonly Option<string?> Data = new("--data")
    {
        Description = "Data directory: the journal log (DIR/journal) and the database (DIR/tradestore.duckdb); configuration key Storage:DataDirectory. Default ./data.",
        HelpName = "DIR",
        Recursive = true,
    };

    /// <summary>Builds the effective configuration for a parsed command line.</summary>
    public static IConfigurationRoot BuildConfiguration(ParseResult parseResult, IDictionary<string, string?>? flags = null)
    {
        var commandLine = new Dictionary<string, string?>(flags ?? new Dictionary<string, string?>(), StringComparer.OrdinalIgnoreCase);
        if (parseResult.GetValue(Data) is { } data)
        {
            commandLine[$"{StorageOptions.SectionName}:{nameof(StorageOptions.DataDirectory)}"] = data;
        }

        var error = parseResult.InvocationConfiguration.Error;
        return TradeStoreConfiguration.Build(new ConfigurationInputs
        {
            ConfigFile = parseResult.GetValue(Config),
            CommandLine = commandLine,
            Warning = warning =>
            {
                // Once per process: a command may build its configuration more than once (recover --set-aside does).
                lock (Warned)
                {
                    if (Warned.Add(warning))
                    {
                        error.WriteLine($"tradestore: warning: {warning}");
                    }
                }
            },
        });
    }

    /// <summary>The configuration warnings this process has printed.</summary>
    private static readonly HashSet<string> Warned = new(StringComparer.Ordinal);
}
