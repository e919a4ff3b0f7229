using System.Collections;

namespace TradeStore.Server.Configuration;

/// <summary>
/// Everything that feeds the effective configuration, gathered in one value so the precedence rules
/// can be tested without touching the process environment.
/// </summary>
public sealed record ConfigurationInputs
{
    /// <summary>Prefix of the environment variables (and <c>.env</c> keys) that configure TradeStore.</summary>
    public const string EnvironmentPrefix = "TRADESTORE__";

    /// <summary>Environment variable that names the secrets file when it is not <c>./secrets.toml</c>.</summary>
    public const string SecretsFileVariable = "TRADESTORE_SECRETS_FILE";

    /// <summary>Folder of the binary; its <c>appsettings.json</c> is the lowest layer.</summary>
    public string BaseDirectory { get; init; } = AppContext.BaseDirectory;

    /// <summary>Working directory; holds the optional <c>.env</c> and <c>secrets.toml</c>.</summary>
    public string WorkingDirectory { get; init; } = System.Environment.CurrentDirectory;

    /// <summary>The file given by <c>--config</c>, if any; it must exist.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>Values set by command-line flags (for example <c>--data</c>), keyed by configuration key; the top layer.</summary>
    public IReadOnlyDictionary<string, string?> CommandLine { get; init; } = new Dictionary<string, string?>();

    /// <summary>
    /// Told of what the configuration skips but an operator should hear of (a <c>.env</c> that is a directory), one line
    /// without the program's name; by default written to the standard error as <c>tradestore: warning: …</c>.
    /// </summary>
    public Action<string> Warning { get; init; } = static warning => Console.Error.WriteLine($"tradestore: warning: {warning}");

    /// <summary>The process environment, or a stand-in for tests.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = ReadProcessEnvironment();

    private static Dictionary<string, string> ReadProcessEnvironment()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            result[(string)entry.Key] = entry.Value as string ?? string.Empty;
        }

        return result;
    }
}
