using System.Text;

namespace TradeStore.Server.Configuration;

/// <summary>
/// Reads a <c>.env</c> file: <c>NAME=value</c> lines, as shells and most dotenv readers (Docker Compose among them)
/// write them. Blank lines and lines starting with <c>#</c> are skipped; a line may start with <c>export </c>; a value in
/// single quotes is taken as it is, one in double quotes with <c>\"</c> and <c>\\</c> unescaped (either may span
/// lines); an unquoted value is the rest of the line up to a <c>#</c> that follows a blank (an inline comment), trimmed.
/// Nothing is expanded: <c>$</c> is a character.
/// </summary>
/// <remarks>
/// By design a line that is none of these is refused, naming the file and line: the former reader (dotenv.net) skipped
/// it silently, so <c>export TRADESTORE__SERVER__URLS=…</c> and a line without <c>=</c> were ignored and the service ran
/// on a setting its operator never chose. The messages never quote a line: it may hold a secret.
/// By design <c>NAME=value   # comment</c> is <c>value</c>, as Docker Compose, python-dotenv and the former reader take
/// it: reading the comment into the value turned an upgraded service's data directory into a new, empty one.
/// A <c>#</c> with no blank before it (<c>pa#ss</c>) stays part of the value.
/// </remarks>
public static class DotEnvFile
{
    /// <summary>The variables of the file at <paramref name="path"/>, in file order (a later line wins over an earlier one).</summary>
    /// <exception cref="ConfigurationException">A line is not a comment, not blank and not <c>NAME=value</c>, or a quote is never closed.</exception>
    public static IReadOnlyList<KeyValuePair<string, string>> Read(string path) => Parse(File.ReadAllLines(path), path);

    /// <summary>The variables of <paramref name="lines"/>; <paramref name="source"/> names the file in errors.</summary>
    /// <exception cref="ConfigurationException">A line is not a comment, not blank and not <c>NAME=value</c>, or a quote is never closed.</exception>
    public static IReadOnlyList<KeyValuePair<string, string>> Parse(IReadOnlyList<string> lines, string source)
    {
        var variables = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < lines.Count; i++)
        {
            var lineNumber = i + 1;
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (line.StartsWith("export", StringComparison.Ordinal) && line.Length > 6 && char.IsWhiteSpace(line[6]))
            {
                line = line[6..].TrimStart();
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                throw Error(source, lineNumber, "expected NAME=value, a # comment or a blank line; the line has no '='.");
            }

            var name = line[..equals].TrimEnd();
            if (!IsName(name))
            {
                throw Error(source, lineNumber, "the text before '=' is not a variable name (letters, digits, '_', '.' or '-', not starting with a digit).");
            }

            var raw = line[(equals + 1)..];
            var rest = raw.TrimStart();
            string value;
            if (rest.StartsWith('\'') || rest.StartsWith('"'))
            {
                (value, i) = Quoted(rest, lines, i, source);
            }
            else
            {
                value = WithoutInlineComment(raw);
            }

            variables.Add(new KeyValuePair<string, string>(name, value));
        }

        return variables;
    }

    /// <summary>
    /// The value that <paramref name="first"/> (the rest of line <paramref name="index"/> from its opening quote) starts,
    /// and the index of the line it closes on. After the closing quote only blanks or a <c># comment</c> may follow.
    /// </summary>
    private static (string Value, int LastLine) Quoted(string first, IReadOnlyList<string> lines, int index, string source)
    {
        var quote = first[0];
        var value = new StringBuilder();
        var line = first;
        var position = 1;
        var lineIndex = index;
        while (true)
        {
            for (; position < line.Length; position++)
            {
                var ch = line[position];
                if (quote == '"' && ch == '\\' && position + 1 < line.Length && line[position + 1] is '"' or '\\')
                {
                    value.Append(line[++position]);
                    continue;
                }

                if (ch != quote)
                {
                    value.Append(ch);
                    continue;
                }

                var after = line[(position + 1)..].Trim();
                if (after.Length > 0 && !after.StartsWith('#'))
                {
                    throw Error(source, lineIndex + 1, $"text follows the closing {Describe(quote)} of the value; quote the whole value.");
                }

                return (value.ToString(), lineIndex);
            }

            if (++lineIndex == lines.Count)
            {
                throw Error(source, index + 1, $"the {Describe(quote)} that opens the value is never closed.");
            }

            value.Append('\n');
            line = lines[lineIndex];
            position = 0;
        }
    }

    /// <summary>An unquoted value up to its inline comment (a <c>#</c> after a blank), trimmed.</summary>
    private static string WithoutInlineComment(string value)
    {
        for (var i = 1; i < value.Length; i++)
        {
            if (value[i] == '#' && char.IsWhiteSpace(value[i - 1]))
            {
                return value[..i].Trim();
            }
        }

        return value.Trim();
    }

    private static string Describe(char quote) => quote == '"' ? "double quote" : "single quote";

    private static bool IsName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '.' or '-');

    private static ConfigurationException Error(string source, int line, string reason) => new($"{source} line {line}: {reason}");
}
