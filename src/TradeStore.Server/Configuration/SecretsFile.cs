using Tomlyn;
using Tomlyn.Model;

namespace TradeStore.Server.Configuration;

/// <summary>
/// Reads <c>secrets.toml</c>: tables become configuration sections (<c>[Redis] Password = "…"</c> sets
/// <c>Redis:Password</c>). A file that others can read is refused, as ssh refuses a loose private key.
/// </summary>
public static class SecretsFile
{
    public static Dictionary<string, string?> Read(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            const UnixFileMode loose = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
                                       UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
            if ((mode & loose) != 0)
            {
                throw new ConfigurationException(
                    $"{path} has permissions {Convert.ToString((int)mode, 8).PadLeft(4, '0')}; a secrets file must be readable by its owner only (chmod 600 {path}).");
            }
        }

        TomlTable table;
        try
        {
            table = TomlSerializer.Deserialize<TomlTable>(File.ReadAllText(path))!;
        }
        catch (TomlException ex)
        {
            // Tomlyn's message quotes the offending line, which may hold a secret: report the position only.
            throw new ConfigurationException($"{path} is not valid TOML ({FirstLine(ex.Message)}).");
        }

        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        Flatten(table, prefix: null, values);
        return values;
    }

    private static void Flatten(TomlTable table, string? prefix, Dictionary<string, string?> values)
    {
        foreach (var (key, value) in table)
        {
            var path = prefix is null ? key : $"{prefix}:{key}";
            switch (value)
            {
                case TomlTable child:
                    Flatten(child, path, values);
                    break;
                case TomlTableArray array:
                    for (var i = 0; i < array.Count; i++)
                    {
                        Flatten(array[i], $"{path}:{i}", values);
                    }

                    break;
                case TomlArray list:
                    for (var i = 0; i < list.Count; i++)
                    {
                        values[$"{path}:{i}"] = Convert.ToString(list[i], System.Globalization.CultureInfo.InvariantCulture);
                    }

                    break;
                default:
                    values[path] = value is bool b ? (b ? "true" : "false") : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture);
                    break;
            }
        }
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0];
        var colon = line.IndexOf(" : ", StringComparison.Ordinal);
        return colon > 0 ? line[..colon] : "syntax error";
    }
}
