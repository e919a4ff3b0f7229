using System.Text.Json;
using System.Text.Json.Serialization;

namespace TradeStore.Bench;

/// <summary>
/// How every <c>--json</c> file of the benchmarks is written: camelCase names as in the API's JSON, indented, without
/// absent values, and NaN or infinity (a ratio over nothing measured) as their names rather than a failed write.
/// </summary>
internal static class BenchJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
