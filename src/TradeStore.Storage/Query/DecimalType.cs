using System.Globalization;

namespace TradeStore.Storage.Query;

/// <summary>
/// A scalar DuckDB <c>DECIMAL(p,s)</c> column type, as <c>DESCRIBE</c> spells it. The one place that decides whether a
/// type name is a decimal: a prefix test would also take <c>DECIMAL(18,8)[]</c> (a list of decimals, which every writer
/// carries as JSON like any other nested value) or <c>DECIMAL(18,8)[2]</c> (an array) for a decimal.
/// </summary>
public readonly record struct DecimalType(int Precision, int Scale)
{
    private const string Prefix = "DECIMAL(";

    /// <summary>
    /// The precision and scale of exactly <c>DECIMAL(p,s)</c> (no list or array suffix, nothing nested);
    /// <see langword="false"/> for any other type.
    /// </summary>
    public static bool TryParse(string type, out DecimalType decimalType)
    {
        decimalType = default;
        if (!type.StartsWith(Prefix, StringComparison.Ordinal) || !type.EndsWith(')'))
        {
            return false;
        }

        var inside = type.AsSpan(Prefix.Length, type.Length - Prefix.Length - 1);
        var comma = inside.IndexOf(',');
        if (comma < 0
            || !int.TryParse(inside[..comma], NumberStyles.None, CultureInfo.InvariantCulture, out var precision)
            || !int.TryParse(inside[(comma + 1)..].Trim(' '), NumberStyles.None, CultureInfo.InvariantCulture, out var scale))
        {
            return false;
        }

        decimalType = new DecimalType(precision, scale);
        return true;
    }
}
