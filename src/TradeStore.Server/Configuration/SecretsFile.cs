using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Parsing;

namespace TradeStore.Server.Configuration;

/// <summary>
/// Reads <c>secrets.toml</c>: tables become configuration sections (<c>[Redis] Password = "…"</c> sets
/// <c>Redis:Password</c>). A file that others can read is refused, as ssh refuses a loose private key.
/// </summary>
public static partial class SecretsFile
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

        var text = File.ReadAllText(path);
        TomlTable table;
        try
        {
            table = TomlSerializer.Deserialize<TomlTable>(text)!;
        }
        catch (TomlException ex)
        {
            throw new ConfigurationException($"{path} is not valid TOML: {Describe(ex.Message)}");
        }

        // By design validated too: the deserializer let a key or table given twice pass (TOML forbids it) and took the last,
        // so of two passwords pasted one below the other the first was used by nobody, without a word.
        var document = SyntaxParser.Parse(text, path, validate: true);
        if (document.HasErrors)
        {
            throw new ConfigurationException($"{path} is not valid TOML: {Describe(string.Join('\n', document.Diagnostics.Select(d => d.ToString())))}");
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

    /// <summary>
    /// Tomlyn's diagnostics ("(line,column) : error : reason"), one per problem, with the position and the reason. By design
    /// without source text: the offending line may hold a secret, so a token Tomlyn quotes ("Unexpected token `hunter`")
    /// is shown as `…` unless it is a single character (an expected `]`).
    /// </summary>
    private static string Describe(string message)
    {
        var problems = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(" : ", 3))
            .Where(parts => parts.Length == 3)
            .Select(parts => $"{Position(parts[0])}: {Reason(parts[2].TrimEnd('.'))}")
            .Take(3)
            .ToList();
        return problems.Count > 0 ? string.Join("; ", problems) + "." : "syntax error.";
    }

    /// <summary>
    /// Tomlyn's reason with the text it quotes shown as `…`; a key defined twice is named (a key is no secret, its first
    /// definition is: Tomlyn quotes that whole line).
    /// </summary>
    private static string Reason(string reason) => KeyDefinedTwice().Match(reason) is { Success: true } twice
        ? $"the key {twice.Groups["key"].Value} is already defined at line {twice.Groups["line"].Value}; TOML takes each key and table once"
        : QuotedText().Replace(reason, m => m.Groups[1].Length <= 1 ? m.Value : "`…`");

    /// <summary>"path(3,9)" or "(3,9)" becomes "line 3, column 9".</summary>
    private static string Position(string location)
    {
        var open = location.LastIndexOf('(');
        var numbers = open >= 0 ? location[(open + 1)..].TrimEnd(')').Split(',') : [];
        return numbers.Length == 2 ? $"line {numbers[0].Trim()}, column {numbers[1].Trim()}" : location.Trim();
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^The key `(?<key>[^`]*)` is already defined at \((?<line>\d+),\d+\)")]
    private static partial System.Text.RegularExpressions.Regex KeyDefinedTwice();

    [System.Text.RegularExpressions.GeneratedRegex("`([^`]*)`")]
    private static partial System.Text.RegularExpressions.Regex QuotedText();
}
