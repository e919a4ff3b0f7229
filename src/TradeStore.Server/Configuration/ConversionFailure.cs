using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;

namespace TradeStore.Server.Configuration;

/// <summary>
/// The configuration binder's "Failed to convert configuration value 'abc' at 'Engine:MaxBatchSize' to type
/// 'System.Int32'", said as every other configuration error is: the key, what it must be, and the value given
/// (<c>Engine:MaxBatchSize: must be a whole number, got 'abc'.</c>). Only non-string settings fail to convert, so the
/// value is never a secret.
/// </summary>
internal static partial class ConversionFailure
{
    /// <summary>The message for a binder's conversion failure; null for any other message.</summary>
    public static string? Say(string binderMessage)
    {
        var match = Pattern().Match(binderMessage);
        if (!match.Success)
        {
            return null;
        }

        var (value, key, type) = (match.Groups["value"].Value, match.Groups["key"].Value, match.Groups["type"].Value);
        return $"{key}: must be {Expected(type, value)}, got '{value}'.";
    }

    private static string Expected(string type, string value) => type switch
    {
        "System.Boolean" => "true or false",
        "System.TimeSpan" => "a duration written [d.]hh:mm:ss[.fff], such as 00:00:05 or 00:00:00.250",
        "System.Int32" or "System.Int64" or "System.UInt32" or "System.UInt64" or "System.Int16" or "System.UInt16" or "System.Byte"
            => BigInteger.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)
                ? $"a whole number from {Limit(type, "MinValue")} to {Limit(type, "MaxValue")}"
                : "a whole number",
        "System.Double" or "System.Single" or "System.Decimal" => "a number",
        _ => $"a value of type {type.Replace("System.", string.Empty, StringComparison.Ordinal)}",
    };

    private static string Limit(string type, string field) =>
        Convert.ToString(Type.GetType(type)!.GetField(field)!.GetValue(null), CultureInfo.InvariantCulture)!;

    [GeneratedRegex(@"^Failed to convert configuration value '(?<value>.*)' at '(?<key>[^']+)' to type '(?<type>[^']+)'", RegexOptions.Singleline)]
    private static partial Regex Pattern();
}
