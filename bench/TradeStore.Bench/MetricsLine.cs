using System.Globalization;

namespace TradeStore.Bench;

/// <summary>One sample line of the server's <c>/metrics</c> (Prometheus text): every reader of it in this tool goes through here.</summary>
internal static class MetricsLine
{
    /// <summary>
    /// The series name (before its labels) and value of a sample line; false for a comment, a blank line or a value
    /// that is not a number.
    /// </summary>
    public static bool TryRead(string line, out string name, out double value)
    {
        name = line.Split(' ', '{')[0];
        value = 0;
        return name.Length > 0 && name[0] != '#'
            && double.TryParse(line[(line.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }
}
