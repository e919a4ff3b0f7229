using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>
/// Writes a query result as an Arrow IPC stream (<c>application/vnd.apache.arrow.stream</c>): one record batch per
/// <see cref="QueryResultColumnKind.ChunkRows"/> rows, each written to the response as soon as it is built, so the
/// answer is never held whole in memory. Decimals are <c>decimal128(p,s)</c> with DuckDB's precision and scale
/// (the money columns: <c>decimal128(18,8)</c>), times <c>timestamp[us, UTC]</c>; pandas and pyarrow read it directly.
/// </summary>
public static class ArrowQueryResultWriter
{
    public const string MediaType = "application/vnd.apache.arrow.stream";

    private static readonly TimestampType UtcMicroseconds = new(TimeUnit.Microsecond, "UTC");

    public static async Task WriteAsync(Stream output, QueryResult result, CancellationToken cancellationToken)
    {
        var kinds = QueryResultColumnKind.Of(result);
        var schema = new Schema.Builder();
        foreach (var column in kinds)
        {
            schema.Field(f => f.Name(column.Name).DataType(ArrowType(column)).Nullable(true));
        }

        var built = schema.Build();
        using var writer = new ArrowStreamWriter(output, built, leaveOpen: true);
        await writer.WriteStartAsync(cancellationToken);
        for (var start = 0; start < result.Rows.Count; start += QueryResultColumnKind.ChunkRows)
        {
            var count = Math.Min(QueryResultColumnKind.ChunkRows, result.Rows.Count - start);
            var arrays = new IArrowArray[kinds.Count];
            for (var c = 0; c < kinds.Count; c++)
            {
                arrays[c] = Column(kinds[c], result.Rows, start, count, c);
            }

            using var batch = new RecordBatch(built, arrays, count);
            await writer.WriteRecordBatchAsync(batch, cancellationToken);
            await output.FlushAsync(cancellationToken);
        }

        await writer.WriteEndAsync(cancellationToken);
    }

    private static IArrowType ArrowType(QueryResultColumnKind column) => column.Kind switch
    {
        QueryValueKind.Boolean => BooleanType.Default,
        QueryValueKind.Int8 => Int8Type.Default,
        QueryValueKind.Int16 => Int16Type.Default,
        QueryValueKind.Int32 => Int32Type.Default,
        QueryValueKind.Int64 => Int64Type.Default,
        QueryValueKind.Float32 => FloatType.Default,
        QueryValueKind.Float64 => DoubleType.Default,
        QueryValueKind.Decimal => new Decimal128Type(column.Precision, column.Scale),
        QueryValueKind.Timestamp => UtcMicroseconds,
        QueryValueKind.Date => Date32Type.Default,
        _ => StringType.Default,
    };

    private static IArrowArray Column(QueryResultColumnKind column, IReadOnlyList<object?[]> rows, int start, int count, int index)
    {
        switch (column.Kind)
        {
            case QueryValueKind.Boolean:
                return Fill(new BooleanArray.Builder(), rows, start, count, index, (b, v) => b.Append(Convert.ToBoolean(v, System.Globalization.CultureInfo.InvariantCulture)), b => b.AppendNull()).Build();
            case QueryValueKind.Int8:
                return Fill(new Int8Array.Builder(), rows, start, count, index, (b, v) => b.Append(Convert.ToSByte(v, System.Globalization.CultureInfo.InvariantCulture)), b => b.AppendNull()).Build();
            case QueryValueKind.Int16:
                return Fill(new Int16Array.Builder(), rows, start, count, index, (b, v) => b.Append(Convert.ToInt16(v, System.Globalization.CultureInfo.InvariantCulture)), b => b.AppendNull()).Build();
            case QueryValueKind.Int32:
                return Fill(new Int32Array.Builder(), rows, start, count, index, (b, v) => b.Append(Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture)), b => b.AppendNull()).Build();
            case QueryValueKind.Int64:
                return Fill(new Int64Array.Builder(), rows, start, count, index, (b, v) => b.Append(Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture)), b => b.AppendNull()).Build();
            case QueryValueKind.Float32:
                return Fill(new FloatArray.Builder(), rows, start, count, index, (b, v) => b.Append(Convert.ToSingle(v, System.Globalization.CultureInfo.InvariantCulture)), b => b.AppendNull()).Build();
            case QueryValueKind.Float64:
                return Fill(new DoubleArray.Builder(), rows, start, count, index, (b, v) => b.Append(Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture)), b => b.AppendNull()).Build();
            case QueryValueKind.Decimal:
                var decimals = new Decimal128Array.Builder(new Decimal128Type(column.Precision, column.Scale));
                return Fill(decimals, rows, start, count, index, (b, v) => b.Append(Convert.ToDecimal(v, System.Globalization.CultureInfo.InvariantCulture)), b => b.AppendNull()).Build();
            case QueryValueKind.Timestamp:
                return Fill(new TimestampArray.Builder(UtcMicroseconds), rows, start, count, index, (b, v) => b.Append(QueryResultColumnKind.Utc(v)), b => b.AppendNull()).Build();
            case QueryValueKind.Date:
                return Fill(new Date32Array.Builder(), rows, start, count, index, (b, v) => b.Append(QueryResultColumnKind.Date(v)), b => b.AppendNull()).Build();
            default:
                return Fill(new StringArray.Builder(), rows, start, count, index, (b, v) => b.Append(QueryResultColumnKind.Text(v)), b => b.AppendNull()).Build();
        }
    }

    private static TBuilder Fill<TBuilder>(TBuilder builder, IReadOnlyList<object?[]> rows, int start, int count, int index, Action<TBuilder, object> append, Action<TBuilder> appendNull)
    {
        for (var r = start; r < start + count; r++)
        {
            if (rows[r][index] is { } value)
            {
                append(builder, value);
            }
            else
            {
                appendNull(builder);
            }
        }

        return builder;
    }
}
