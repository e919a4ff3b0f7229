using System.Buffers;
using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>
/// An Arrow IPC stream (<c>Accept: application/vnd.apache.arrow.stream</c>): the schema, then one record batch per
/// chunk of at most <see cref="QueryResultColumnKind.ChunkRows"/> rows and about <see cref="QueryResultColumnKind.ChunkBytes"/>,
/// then, when the answer was cut at a limit, an empty batch marked <c>tradestore.truncated</c>
/// (<see cref="ArrowQueryResultMark"/>), then the end-of-stream marker. Decimals are <c>decimal128(p,s)</c> with DuckDB's precision and scale (the money
/// columns: <c>decimal128(18,8)</c>), times <c>timestamp[us, UTC]</c>; pandas and pyarrow read it directly.
/// </summary>
/// <remarks>
/// The limits are <see cref="QueryResultWriter"/>'s. A record batch is one message that cannot be cut mid-way, so the
/// byte limit is honoured per batch: near the limit a batch is closed once its estimated size reaches half of what the
/// limit leaves (so batches shrink towards it instead of overshooting it), and the batch that would pass
/// <see cref="QueryLimits.MaxResultBytes"/> is left out; the answer ends at the batch before it.
/// </remarks>
public sealed class ArrowQueryResultWriter : QueryResultWriter
{
    public const string MediaType = "application/vnd.apache.arrow.stream";

    private static readonly TimestampType UtcMicroseconds = new(TimeUnit.Microsecond, "UTC");

    private readonly BufferWriterStream _output = new();
    private IReadOnlyList<QueryResultColumnKind> _kinds = [];
    private Schema? _schema;
    private ArrowStreamWriter? _writer;
    private ColumnBuilder[] _columns = [];
    private long _chunkBytes;

    public override string ContentType => MediaType;

    protected override void WriteHeader(IBufferWriter<byte> output, IReadOnlyList<QueryColumn> columns)
    {
        _kinds = QueryResultColumnKind.Of(columns);
        var schema = new Schema.Builder();
        foreach (var column in _kinds)
        {
            schema.Field(f => f.Name(column.Name).DataType(ArrowType(column)).Nullable(true));
        }

        _schema = schema.Build();
        _output.Target = output;
        _writer = new ArrowStreamWriter(_output, _schema, leaveOpen: true);
        _writer.WriteStart();
        _columns = NewBuilders();
    }

    protected override void AddRow(IBufferWriter<byte> chunk, QueryRows rows, int index)
    {
        for (var c = 0; c < _columns.Length; c++)
        {
            _chunkBytes += _columns[c].Append(rows, c);
        }
    }

    protected override bool IsChunkFull(int rows, long bytesLeft) =>
        rows >= QueryResultColumnKind.ChunkRows || _chunkBytes >= Math.Min(QueryResultColumnKind.ChunkBytes, bytesLeft / 2);

    protected override void EndChunk(IBufferWriter<byte> chunk, int rows)
    {
        var arrays = _columns.Select(c => c.Build()).ToArray();
        _columns = NewBuilders();
        _chunkBytes = 0;
        using var batch = new RecordBatch(_schema!, arrays, rows);
        _output.Target = chunk;
        _writer!.WriteRecordBatch(batch);
    }

    protected override void WriteFooter(IBufferWriter<byte> output, int rowCount, QueryTruncation truncation)
    {
        if (truncation != QueryTruncation.None)
        {
            output.Write(ArrowQueryResultMark.Message(_kinds, ArrowQueryResultMark.TruncatedKey, truncation == QueryTruncation.Rows ? "rows" : "bytes"));
        }

        _output.Target = output;
        _writer!.WriteEnd();
        _writer.Dispose();
    }

    /// <summary>
    /// The error mark (<see cref="ArrowQueryResultMark"/>), then the start of a message that never comes
    /// (<see cref="ArrowQueryResultMark.Cut"/>) in place of the end-of-stream marker: a generic Arrow reader fails on it
    /// rather than taking the rows so far as the whole answer.
    /// </summary>
    public override void WriteError(IBufferWriter<byte> output, ReadOnlySpan<byte> problemJson)
    {
        output.Write(ArrowQueryResultMark.Message(_kinds, ArrowQueryResultMark.ErrorKey, System.Text.Encoding.UTF8.GetString(problemJson)));
        output.Write(ArrowQueryResultMark.Cut);
    }

    private static IArrowType ArrowType(QueryResultColumnKind column) => column.Kind switch
    {
        TypedValueKind.Boolean => BooleanType.Default,
        TypedValueKind.Int8 => Int8Type.Default,
        TypedValueKind.Int16 => Int16Type.Default,
        TypedValueKind.Int32 => Int32Type.Default,
        TypedValueKind.Int64 => Int64Type.Default,
        TypedValueKind.Float32 => FloatType.Default,
        TypedValueKind.Float64 => DoubleType.Default,
        TypedValueKind.Decimal => new Decimal128Type(column.Precision, column.Scale),
        TypedValueKind.Timestamp => UtcMicroseconds,
        TypedValueKind.Date => Date32Type.Default,
        _ => StringType.Default,
    };

    private ColumnBuilder[] NewBuilders() => [.. _kinds.Select(NewBuilder)];

    private static ColumnBuilder NewBuilder(QueryResultColumnKind column)
    {
        var invariant = CultureInfo.InvariantCulture;
        return column.Kind switch
        {
            TypedValueKind.Boolean => new ColumnBuilder<BooleanArray.Builder>(new(), (b, r, c) => b.Append(Convert.ToBoolean(r.Value(c), invariant)), b => b.AppendNull(), b => b.Build(), 1),
            TypedValueKind.Int8 => new ColumnBuilder<Int8Array.Builder>(new(), (b, r, c) => b.Append(Convert.ToSByte(r.Value(c), invariant)), b => b.AppendNull(), b => b.Build(), 1),
            TypedValueKind.Int16 => new ColumnBuilder<Int16Array.Builder>(new(), (b, r, c) => b.Append(Convert.ToInt16(r.Value(c), invariant)), b => b.AppendNull(), b => b.Build(), 2),
            TypedValueKind.Int32 => new ColumnBuilder<Int32Array.Builder>(new(), (b, r, c) => b.Append(Convert.ToInt32(r.Value(c), invariant)), b => b.AppendNull(), b => b.Build(), 4),
            TypedValueKind.Int64 => new ColumnBuilder<Int64Array.Builder>(new(), (b, r, c) => b.Append(Convert.ToInt64(r.Value(c), invariant)), b => b.AppendNull(), b => b.Build(), 8),
            TypedValueKind.Float32 => new ColumnBuilder<FloatArray.Builder>(new(), (b, r, c) => b.Append(Convert.ToSingle(r.Value(c), invariant)), b => b.AppendNull(), b => b.Build(), 4),
            TypedValueKind.Float64 => new ColumnBuilder<DoubleArray.Builder>(new(), (b, r, c) => b.Append(Convert.ToDouble(r.Value(c), invariant)), b => b.AppendNull(), b => b.Build(), 8),
            TypedValueKind.Decimal => new ColumnBuilder<Decimal128Array.Builder>(new(new Decimal128Type(column.Precision, column.Scale)),
                (b, r, c) => b.Append(Convert.ToDecimal(r.Value(c), invariant)), b => b.AppendNull(), b => b.Build(), 16),
            TypedValueKind.Timestamp => new ColumnBuilder<TimestampArray.Builder>(new(UtcMicroseconds), (b, r, c) => b.Append(QueryResultColumnKind.Utc(r, c)), b => b.AppendNull(), b => b.Build(), 8),
            TypedValueKind.Date => new ColumnBuilder<Date32Array.Builder>(new(), (b, r, c) => b.Append(QueryResultColumnKind.Date(r, c)), b => b.AppendNull(), b => b.Build(), 4),
            _ => new TextColumnBuilder(),
        };
    }

    /// <summary>One column of the batch being built.</summary>
    private abstract class ColumnBuilder
    {
        /// <summary>Appends the row's value; returns its estimated size in bytes.</summary>
        public abstract long Append(QueryRows rows, int column);

        public abstract IArrowArray Build();
    }

    private sealed class ColumnBuilder<TBuilder>(TBuilder builder, Action<TBuilder, QueryRows, int> append, Action<TBuilder> appendNull, Func<TBuilder, IArrowArray> build, int width)
        : ColumnBuilder
    {
        public override long Append(QueryRows rows, int column)
        {
            if (rows.IsNull(column))
            {
                appendNull(builder);
            }
            else
            {
                append(builder, rows, column);
            }

            return width;
        }

        public override IArrowArray Build() => build(builder);
    }

    private sealed class TextColumnBuilder : ColumnBuilder
    {
        private readonly StringArray.Builder _builder = new();

        public override long Append(QueryRows rows, int column)
        {
            if (rows.IsNull(column))
            {
                _builder.AppendNull();
                return 4;
            }

            var text = QueryResultColumnKind.Text(rows, column);
            _builder.Append(text);
            return 4 + System.Text.Encoding.UTF8.GetByteCount(text);
        }

        public override IArrowArray Build() => _builder.Build();
    }
}
