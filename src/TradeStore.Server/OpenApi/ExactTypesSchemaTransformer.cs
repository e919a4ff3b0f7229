using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace TradeStore.Server.OpenApi;

/// <summary>
/// Decimals are a JSON number or a decimal string, at most 8 decimals and 10 integer digits (the API's exact
/// converter); whole numbers (versions, seqs, counts, a problem's status) are JSON numbers only; times are ISO 8601 strings with a zone. The JSON schema exporter cannot see through the converters.
/// </summary>
internal sealed class ExactTypesSchemaTransformer : IOpenApiSchemaTransformer
{
    /// <summary>
    /// The syntax of the string form: JSON's number grammar, which <see cref="Api.ExactDecimal"/> reads (<c>"1.5e3"</c> and
    /// <c>"1.000000000"</c> included). The limits are on the value, not the text, so they are in the description.
    /// </summary>
    public const string DecimalPattern = @"^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$";

    /// <summary>
    /// The syntax of a time, which <see cref="TradeStore.Server.Api.IsoTime"/> reads: narrower than RFC 3339's <c>date-time</c> in its case
    /// (upper-case <c>T</c> and <c>Z</c> only), wider in that seconds and an offset's minutes may be left out. Whether the
    /// date, the time and the offset exist is on the value, not the text.
    /// </summary>
    public const string TimePattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,16})?)?(Z|[+-][0-9]{2}(:[0-9]{2})?)$";

    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = context.JsonTypeInfo.Type;
        var nullable = Nullable.GetUnderlyingType(type) is not null;
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(decimal))
        {
            schema.Type = JsonSchemaType.Number | JsonSchemaType.String | (nullable ? JsonSchemaType.Null : 0);
            schema.Format = null;
            schema.Pattern = DecimalPattern;
            schema.MaxLength = 64;
            schema.Description ??= "Exact decimal: a JSON number or a string in JSON number syntax (\"100.25\", \"1.5e3\"); its value has at most 8 decimals and 10 integer digits " +
                "(trailing zeros and exponents are fine when the value fits; nothing is rounded). Answers are JSON numbers with exact digits.";
        }
        else if (underlying == typeof(long) || underlying == typeof(int))
        {
            // A JSON number only: the API's JSON context does not read integers from strings (the exporter assumed it does).
            schema.Type = JsonSchemaType.Integer | (nullable ? JsonSchemaType.Null : 0);
            schema.Format = underlying == typeof(long) ? "int64" : "int32";
            schema.Pattern = null;
        }
        else if (underlying == typeof(DateTimeOffset))
        {
            schema.Type = JsonSchemaType.String | (nullable ? JsonSchemaType.Null : 0);
            schema.Format = "date-time";
            schema.Pattern = TimePattern;
            schema.Description ??= "ISO 8601 with a zone: yyyy-MM-ddTHH:mm, optionally :ss and a fraction, then Z, ±hh:mm or ±hh; T and Z upper case " +
                "(an offset beyond ±14:00 is refused). Answers are UTC with microseconds.";
        }

        return Task.CompletedTask;
    }
}
