using System.Buffers;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>
/// An Arrow IPC stream (<c>Accept: application/vnd.apache.arrow.stream</c>) made of DuckDB's own Arrow export: the
/// schema, then DuckDB's record batches as it produces them, then, when the answer was cut at a limit, an empty batch
/// marked <c>tradestore.truncated</c> (<see cref="ArrowQueryResultMark"/>), then the end-of-stream marker. Booleans,
/// signed and unsigned integers, floats, text, dates and decimals (<c>decimal128(p,s)</c> with DuckDB's precision and scale: the money
/// columns are <c>decimal128(18,8)</c>) are DuckDB's own buffers; times are <c>timestamp[us, UTC]</c>; every other type
/// is the same text the CSV answer carries (nested values as JSON). pandas, pyarrow and the Python client read it.
/// </summary>
/// <remarks>
/// <para>By design no value passes through .NET: DuckDB fills the Arrow buffers and they are written as they are, which is
/// what makes this format several times cheaper than JSON for large answers.</para>
/// <para>The limits are <see cref="QueryResultWriter"/>'s: the row limit cuts the batch that reaches it at the exact row;
/// a record batch is one message, so the byte limit is honoured per batch (DuckDB's batches are 2,048 rows): the batch
/// that would pass <see cref="QueryLimits.MaxResultBytes"/> is left out and the answer ends at the batch before it. A
/// time or date without a calendar form (<c>infinity</c>, a year outside 1–9999) is refused, naming its column.</para>
/// </remarks>
public sealed class ArrowQueryResultWriter : QueryResultWriter
{
    public const string MediaType = "application/vnd.apache.arrow.stream";

    private static readonly TimestampType UtcMicroseconds = new(TimeUnit.Microsecond, "UTC");

    private readonly BufferWriterStream _output = new();
    private Schema? _schema;

    public override string ContentType => MediaType;

    public override bool TakesBatches => true;

    /// <summary>
    /// What DuckDB exports as the Arrow type the answer promises: native for booleans, integers, floats, text and
    /// decimals; times converted to microseconds in UTC, and times and dates refused (by DuckDB's <c>error</c>, naming the
    /// column) when they have no calendar form; anything else as the text form of <see cref="QueryColumns.Expression"/>.
    /// </summary>
    public override string BatchColumn(QueryColumn column, string position)
    {
        var type = column.Type;
        if (DecimalType.TryParse(type, out _))
        {
            return position; // a scalar DECIMAL(p,s) only: a list of decimals (DECIMAL(18,8)[]) is JSON text like any nested value
        }

        return type switch
        {
            "BOOLEAN" or "TINYINT" or "SMALLINT" or "INTEGER" or "BIGINT" or "UTINYINT" or "USMALLINT" or "UINTEGER" or "UBIGINT" or "FLOAT" or "DOUBLE"
                or "VARCHAR" => position,
            "DATE" => Calendar(column, position, position),
            "TIMESTAMP" => Calendar(column, position, position),
            "TIMESTAMP WITH TIME ZONE" => Calendar(column, position, $"timezone('UTC', {position})"),
            "TIMESTAMP_S" or "TIMESTAMP_MS" or "TIMESTAMP_NS" => Calendar(column, position, $"CAST({position} AS TIMESTAMP)"),
            _ => QueryColumns.Expression(column.Kind == QueryValueKind.Native ? column with { Kind = QueryValueKind.Text } : column, position),
        };
    }

    public override QueryResult WriteBatches(IReadOnlyList<QueryColumn> columns, IArrowArrayStream batches, QueryLimits limits, QueryBody body)
    {
        var chunk = new ArrayBufferWriter<byte>();
        _schema = Relabel(batches.Schema);
        _output.Target = chunk;
        using var writer = new ArrowStreamWriter(_output, _schema, leaveOpen: true);
        writer.WriteStart();
        body.Append(chunk.WrittenSpan);
        chunk.ResetWrittenCount();

        var count = 0;
        var truncation = QueryTruncation.None;
        while (truncation == QueryTruncation.None && batches.ReadNextRecordBatchAsync().AsTask().GetAwaiter().GetResult() is { } batch)
        {
            using (batch)
            {
                if (batch.Length == 0)
                {
                    continue;
                }

                var take = Math.Min(batch.Length, limits.MaxRows - count);
                if (take == 0)
                {
                    truncation = QueryTruncation.Rows;
                    break;
                }

                // A slice shares the batch's buffers: the batch alone is disposed.
                writer.WriteRecordBatch(Relabel(take < batch.Length ? batch.Slice(0, take) : batch));
                if (body.Written + chunk.WrittenCount > limits.MaxResultBytes)
                {
                    truncation = QueryTruncation.Bytes;
                    break;
                }

                body.Append(chunk.WrittenSpan);
                chunk.ResetWrittenCount();
                count += take;
                if (take < batch.Length)
                {
                    truncation = QueryTruncation.Rows;
                }
            }
        }

        chunk.ResetWrittenCount();
        if (truncation != QueryTruncation.None)
        {
            chunk.Write(ArrowQueryResultMark.Message(_schema, ArrowQueryResultMark.TruncatedKey, truncation == QueryTruncation.Rows ? "rows" : "bytes"));
        }

        writer.WriteEnd();
        body.Append(chunk.WrittenSpan);
        return new QueryResult(count, truncation);
    }

    /// <summary>
    /// The error mark (<see cref="ArrowQueryResultMark"/>), then the start of a message that never comes
    /// (<see cref="ArrowQueryResultMark.Cut"/>) in place of the end-of-stream marker: a generic Arrow reader fails on it
    /// rather than taking the rows so far as the whole answer.
    /// </summary>
    public override void WriteError(IBufferWriter<byte> output, ReadOnlySpan<byte> problemJson)
    {
        output.Write(ArrowQueryResultMark.Message(_schema, ArrowQueryResultMark.ErrorKey, System.Text.Encoding.UTF8.GetString(problemJson)));
        output.Write(ArrowQueryResultMark.Cut);
    }

    protected override void WriteHeader(IBufferWriter<byte> output, IReadOnlyList<QueryColumn> columns) => throw RowsNotTaken();

    protected override void AddRow(IBufferWriter<byte> chunk, QueryRows rows, int index) => throw RowsNotTaken();

    protected override void WriteFooter(IBufferWriter<byte> output, int rowCount, QueryTruncation truncation) => throw RowsNotTaken();

    private static NotSupportedException RowsNotTaken() => new("The Arrow answer is written from DuckDB's record batches (WriteBatches), not from rows.");

    /// <summary>The column's value when it has a calendar form (a year 1–9999, not infinite); otherwise DuckDB's error names the column.</summary>
    private static string Calendar(QueryColumn column, string position, string value)
    {
        var name = column.Name.Replace("'", "''", StringComparison.Ordinal);
        return $"CASE WHEN {position} IS NULL OR (isfinite({position}) AND year({value}) BETWEEN 1 AND 9999) THEN {value} " +
            $"ELSE error('Column \"{name}\" holds ' || CAST({position} AS VARCHAR) || ', which has no {column.Type} form in Arrow; cast it to VARCHAR or ask for JSON.') END";
    }

    /// <summary>DuckDB's schema with every timestamp labelled UTC (its values are UTC: plain TIMESTAMPs are stored in UTC, zoned ones converted).</summary>
    private static Schema Relabel(Schema schema)
    {
        var builder = new Schema.Builder();
        foreach (var field in schema.FieldsList)
        {
            builder.Field(f => f.Name(field.Name).DataType(field.DataType is TimestampType ? UtcMicroseconds : field.DataType).Nullable(true));
        }

        return builder.Build();
    }

    private RecordBatch Relabel(RecordBatch batch)
    {
        var arrays = new IArrowArray[batch.ColumnCount];
        for (var i = 0; i < arrays.Length; i++)
        {
            var array = batch.Column(i);
            arrays[i] = array.Data.DataType is TimestampType
                ? ArrowArrayFactory.BuildArray(new ArrayData(UtcMicroseconds, array.Length, array.NullCount, array.Data.Offset, array.Data.Buffers))
                : array;
        }

        return new RecordBatch(_schema!, arrays, batch.Length);
    }
}
