using System.Globalization;
using System.Text.RegularExpressions;

namespace TradeStore.TestSupport;

/// <summary>
/// A strict reader of the Prometheus text exposition format (version 0.0.4): every sample belongs to a
/// family announced by <c># TYPE</c> before it, every family has one <c># HELP</c> (before or after its TYPE, as the
/// format allows), names and labels are well-formed, values are numbers.
/// Throws <see cref="FormatException"/> naming the line that breaks a rule.
/// </summary>
public static partial class PrometheusText
{
    private static readonly HashSet<string> Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    /// <summary>One metric family: its name, type, help text and samples (name with suffix, labels, value).</summary>
    public sealed record Family(string Name, string Type, string Help, List<Sample> Samples);

    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public static IReadOnlyDictionary<string, Family> Parse(string text)
    {
        var families = new Dictionary<string, Family>(StringComparer.Ordinal);
        var help = new Dictionary<string, string>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var parts = line[7..].Split(' ', 2);
                RequireName(parts[0], lineNumber, line);
                var helpText = parts.Length > 1 ? parts[1] : string.Empty;
                if (!help.TryAdd(parts[0], helpText))
                {
                    throw Error(lineNumber, line, "a second HELP line for the same family");
                }

                if (families.TryGetValue(parts[0], out var typed))
                {
                    families[parts[0]] = typed with { Help = helpText };
                }

                continue;
            }

            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line[7..].Split(' ');
                if (parts.Length != 2 || !Types.Contains(parts[1]))
                {
                    throw Error(lineNumber, line, "a TYPE line is '# TYPE name counter|gauge|histogram|summary|untyped'");
                }

                RequireName(parts[0], lineNumber, line);
                if (!families.TryAdd(parts[0], new Family(parts[0], parts[1], help.GetValueOrDefault(parts[0], string.Empty), [])))
                {
                    throw Error(lineNumber, line, "a second TYPE line for the same family");
                }

                continue;
            }

            if (line.StartsWith('#'))
            {
                continue;
            }

            var match = SampleLine().Match(line);
            if (!match.Success)
            {
                throw Error(lineNumber, line, "not a sample line 'name{labels} value [timestamp]'");
            }

            var name = match.Groups["name"].Value;
            var family = FindFamily(families, name) ?? throw Error(lineNumber, line, "sample of a family without a TYPE line");
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in Label().Matches(match.Groups["labels"].Value))
            {
                labels[label.Groups["key"].Value] = label.Groups["value"].Value;
            }

            if (!TryParseValue(match.Groups["value"].Value, out var value))
            {
                throw Error(lineNumber, line, "the value is not a number");
            }

            family.Samples.Add(new Sample(name, labels, value));
        }

        if (families.Keys.FirstOrDefault(name => !help.ContainsKey(name)) is { } withoutHelp)
        {
            throw new FormatException($"family {withoutHelp} has a TYPE line but no HELP line");
        }

        return families;
    }

    private static Family? FindFamily(Dictionary<string, Family> families, string sampleName)
    {
        if (families.TryGetValue(sampleName, out var family))
        {
            return family;
        }

        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (sampleName.EndsWith(suffix, StringComparison.Ordinal)
                && families.TryGetValue(sampleName[..^suffix.Length], out family)
                && family.Type is "histogram" or "summary")
            {
                return family;
            }
        }

        return null;
    }

    private static bool TryParseValue(string text, out double value)
    {
        switch (text)
        {
            case "+Inf":
                value = double.PositiveInfinity;
                return true;
            case "-Inf":
                value = double.NegativeInfinity;
                return true;
            case "NaN":
                value = double.NaN;
                return true;
            default:
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        }
    }

    private static void RequireName(string name, int lineNumber, string line)
    {
        if (!MetricName().IsMatch(name))
        {
            throw Error(lineNumber, line, $"'{name}' is not a valid metric name");
        }
    }

    private static FormatException Error(int lineNumber, string line, string rule) => new($"line {lineNumber}: {rule}: {line}");

    [GeneratedRegex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    private static partial Regex MetricName();

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*)\})? (?<value>\S+)( -?\d+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(?<key>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>([^""\\]|\\.)*)""")]
    private static partial Regex Label();
}
