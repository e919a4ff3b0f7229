using Microsoft.Extensions.Configuration;

namespace TradeStore.Server.Configuration;

/// <summary>
/// Builds the effective configuration. Layers, lowest first:
/// <c>appsettings.json</c> beside the binary, the <c>--config</c> file, <c>secrets.toml</c>,
/// a <c>.env</c> file in the working directory, <c>TRADESTORE__SECTION__KEY</c> environment variables,
/// and command-line flags.
/// </summary>
public static class TradeStoreConfiguration
{
    public static IConfigurationRoot Build(ConfigurationInputs inputs)
    {
        var builder = new ConfigurationBuilder();
        var layers = new List<string>();
        var appSettings = Path.Combine(inputs.BaseDirectory, "appsettings.json");
        builder.AddJsonFile(appSettings, optional: true, reloadOnChange: false);
        layers.Add(appSettings);

        if (inputs.ConfigFile is { } configFile)
        {
            var fullPath = Path.GetFullPath(configFile, inputs.WorkingDirectory);
            if (!File.Exists(fullPath))
            {
                throw new ConfigurationException(Directory.Exists(fullPath)
                    ? $"--config: {fullPath} is a directory, not a file."
                    : $"--config: the file {fullPath} does not exist.");
            }

            builder.AddJsonFile(fullPath, optional: false, reloadOnChange: false);
            layers.Add($"--config {fullPath}");
        }

        var named = inputs.Environment.GetValueOrDefault(ConfigurationInputs.SecretsFileVariable) is { Length: > 0 } variable ? variable : null;
        var secretsPath = named is not null ? Path.GetFullPath(named, inputs.WorkingDirectory) : Path.Combine(inputs.WorkingDirectory, "secrets.toml");
        if (named is null && Directory.Exists(secretsPath))
        {
            // By design refused, as --config's directory is: TradeStore's own name, so nothing else puts a directory there,
            // but "docker run -v ./secrets.toml:…" with the file missing on the host does, and the service then ran
            // without its passwords and API keys, said nowhere.
            throw new ConfigurationException($"{secretsPath} is a directory, not a file: secrets.toml is read from the working directory " +
                $"when it is there; make it the file, remove the directory, or name the file with {ConfigurationInputs.SecretsFileVariable}.");
        }

        if (File.Exists(secretsPath))
        {
            builder.AddInMemoryCollection(Readable(secretsPath, SecretsFile.Read));
            layers.Add(secretsPath);
        }
        else if (inputs.Environment.GetValueOrDefault(ConfigurationInputs.SecretsFileVariable) is { Length: > 0 })
        {
            // An empty variable is the same as unset (it named the working directory's secrets.toml, and when there was none
            // said that "the file" did not exist); a directory is said as --config's is.
            throw new ConfigurationException(Directory.Exists(secretsPath)
                ? $"{ConfigurationInputs.SecretsFileVariable}: {secretsPath} is a directory, not a file."
                : $"{ConfigurationInputs.SecretsFileVariable}: the file {secretsPath} does not exist.");
        }

        var dotEnvPath = Path.Combine(inputs.WorkingDirectory, ".env");
        if (Directory.Exists(dotEnvPath))
        {
            // By design a warning, not a refusal: .env is also a common name of a Python virtual environment
            // ("python -m venv .env"), and refusing would stop every command run from such a directory. Skipped in silence
            // until 2026-12-05, when a .env meant as the file (a bind mount of a file missing on the host) left every
            // setting in it unread.
            inputs.Warning($"{dotEnvPath} is a directory, not a file: it is not read as configuration (its TRADESTORE__ settings, if any were meant, are not in effect).");
        }
        else if (File.Exists(dotEnvPath))
        {
            builder.AddInMemoryCollection(FromPrefixedVariables(Readable(dotEnvPath, DotEnvFile.Read)));
            layers.Add(dotEnvPath);
        }

        builder.AddInMemoryCollection(FromPrefixedVariables(inputs.Environment));
        layers.Add($"the environment ({ConfigurationInputs.EnvironmentPrefix}…)");
        builder.AddInMemoryCollection(inputs.CommandLine);
        layers.Add("the command line");
        IConfigurationRoot root;
        try
        {
            root = builder.Build();
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException || ex.InnerException is UnauthorizedAccessException or IOException)
        {
            // The --config file, read here: the outer message names it ("Failed to load configuration from file '…'"), or
            // .NET's own does ("Access to the path '…' is denied.").
            var reasons = string.Join(" ", new[] { ex.Message, ex.InnerException?.Message }.Where(m => !string.IsNullOrEmpty(m)).Distinct());
            throw new ConfigurationException($"A configuration file cannot be read: {reasons}", ex);
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException)
        {
            // The outer message names the file ("Failed to load configuration from file '…'"), the inner one the parser's reason.
            var reasons = string.Join(" ", new[] { ex.Message, ex.InnerException?.Message, ex.InnerException?.InnerException?.Message }.Where(m => !string.IsNullOrEmpty(m)).Distinct());
            throw new ConfigurationException($"A configuration file is not valid JSON: {reasons}", ex);
        }

        // Here, on what the user gave, not in Bind: the web host adds keys of its own (urls) to its configuration.
        TradeStoreSettings.RequireKnownSections(root);
        ApiKeyEntrySources.RequireOneValuePerField(root, layers);
        return root;
    }

    /// <summary>Reads a configuration file with <paramref name="read"/>; one that exists but cannot be read stops the command naming it.</summary>
    private static T Readable<T>(string path, Func<string, T> read)
    {
        try
        {
            return read(path);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new ConfigurationException($"{path} cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>Maps <c>TRADESTORE__STORAGE__DATADIRECTORY=x</c> to <c>Storage:DataDirectory=x</c> (keys are case-insensitive).</summary>
    public static Dictionary<string, string?> FromPrefixedVariables(IEnumerable<KeyValuePair<string, string>> variables)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in variables)
        {
            if (name.StartsWith(ConfigurationInputs.EnvironmentPrefix, StringComparison.OrdinalIgnoreCase))
            {
                values[name[ConfigurationInputs.EnvironmentPrefix.Length..].Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal)] = value;
            }
        }

        return values;
    }
}
