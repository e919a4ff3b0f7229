using System.CommandLine;
using TradeStore.Server.Configuration;

namespace TradeStore.Cli.Commands;

/// <summary><c>tradestore config show</c>: the effective configuration with secrets redacted.</summary>
public static class ConfigCommand
{
    public static Command Create()
    {
        var show = new Command("show", "Print the effective configuration (all layers applied and validated) as JSON, with every secret redacted.");
        show.SetAction(parseResult =>
        {
            var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
            parseResult.InvocationConfiguration.Output.WriteLine(ConfigurationPrinter.ToJson(settings));
            return ExitCodes.Success;
        });

        return new Command("config", "Inspect the configuration.") { show };
    }
}
