using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Text.Encodings.Web;
using System.Text.Json;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>
/// <c>{"columns":[{name,type}],"rows":[[…]],"rowCount":n,"truncated":b}</c> (and <c>"truncatedBy":"rows"|"bytes"</c> when
/// truncated). Numbers keep their exact digits (never through <see cref="double"/>); a decimal wider than .NET's is a
/// string of its digits; NaN and infinities are the strings <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c>, also
/// inside nested values (<see cref="NonFiniteJsonNumbers"/>); lists, structs, maps and unions are JSON arrays and objects; blobs are base64; dates, times and
/// intervals are DuckDB's text; timestamps are ISO 8601 in UTC. An answer that failed after it had started sending
/// ends with <c>],"error":{problem}</c> instead of <c>rowCount</c>, without the closing brace (<see cref="WriteError"/>).
/// </summary>
public sealed class JsonQueryResultWriter : QueryResultWriter
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    public override string ContentType => "application/json; charset=utf-8";

    protected override void WriteHeader(IBufferWriter<byte> output, IReadOnlyList<QueryColumn> columns)
    {
        using var writer = new Utf8JsonWriter(output, Options);
        writer.WriteStartObject();
        writer.WriteStartArray("columns");
        foreach (var column in columns)
        {
            writer.WriteStartObject();
            writer.WriteString("name", column.Name);
            writer.WriteString("type", column.Type);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartArray("rows");
        writer.Flush();
    }

    protected override void AddRow(IBufferWriter<byte> output, QueryRows rows, int index)
    {
        if (index > 0)
        {
            output.Write(","u8);
        }

        using var writer = new Utf8JsonWriter(output, Options);
        writer.WriteStartArray();
        for (var i = 0; i < rows.Columns.Count; i++)
        {
            WriteValue(writer, rows, i);
        }

        writer.WriteEndArray();
    }

    protected override void WriteFooter(IBufferWriter<byte> output, int rowCount, QueryTruncation truncation)
    {
        // The object opened by the header is still open: close the rows and it by hand.
        var tail = $"],\"rowCount\":{rowCount.ToString(CultureInfo.InvariantCulture)},\"truncated\":{(truncation == QueryTruncation.None ? "false" : "true")}"
            + (truncation == QueryTruncation.None ? "" : $",\"truncatedBy\":\"{(truncation == QueryTruncation.Rows ? "rows" : "bytes")}\"") + "}";
        output.Write(System.Text.Encoding.UTF8.GetBytes(tail));
    }

    /// <summary>
    /// Closes the rows and adds <c>"error": {problem}</c> in place of <c>rowCount</c> and <c>truncated</c>, and leaves the
    /// outer object open: a generic JSON parser refuses the answer; the clients read the problem from the end.
    /// </summary>
    public override void WriteError(IBufferWriter<byte> output, ReadOnlySpan<byte> problemJson)
    {
        output.Write("],\"error\":"u8);
        output.Write(problemJson);
    }

    private static void WriteValue(Utf8JsonWriter writer, QueryRows rows, int column)
    {
        if (rows.IsNull(column))
        {
            writer.WriteNullValue();
            return;
        }

        switch (rows.Columns[column].Kind)
        {
            case QueryValueKind.Native:
                WriteNative(writer, rows.Value(column));
                break;
            case QueryValueKind.Timestamp:
                writer.WriteStringValue(QueryValueText.Timestamp(rows.Text(column)));
                break;
            case QueryValueKind.Json:
                writer.WriteRawValue(NonFiniteJsonNumbers.Quote(rows.Text(column)), skipInputValidation: false);
                break;
            default:
                writer.WriteStringValue(rows.Text(column));
                break;
        }
    }

    private static void WriteNative(Utf8JsonWriter writer, object value)
    {
        switch (value)
        {
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case decimal d:
                writer.WriteRawValue(d.ToString(CultureInfo.InvariantCulture));
                break;
            case double x when double.IsFinite(x):
                writer.WriteNumberValue(x);
                break;
            case float f when float.IsFinite(f):
                writer.WriteNumberValue(f);
                break;
            case sbyte or byte or short or ushort or int or uint or long or ulong or BigInteger or Int128 or UInt128:
                writer.WriteRawValue(Convert.ToString(value, CultureInfo.InvariantCulture)!);
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            default:
                writer.WriteStringValue(QueryValueText.Native(value));
                break;
        }
    }
}
