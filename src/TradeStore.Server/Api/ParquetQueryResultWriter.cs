using System.Buffers;
using System.Globalization;
using Parquet;
using Parquet.Schema;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>
/// A Parquet file (<c>Accept: application/vnd.apache.parquet</c>): one row group per chunk of at most
/// <see cref="QueryResultColumnKind.ChunkRows"/> rows and about <see cref="QueryResultColumnKind.ChunkBytes"/>, and the
/// footer last. Decimals keep DuckDB's precision and scale (<c>DECIMAL(18,8)</c> for money), times are microsecond
/// timestamps adjusted to UTC; Snappy-compressed. An answer cut at a limit says so in the footer's key-value metadata
/// (<see cref="TruncatedKey"/>); one that fails after it had started sending has no footer, which no Parquet reader accepts.
/// </summary>
/// <remarks>
/// The limits are <see cref="QueryResultWriter"/>'s. Parquet's writer lists every row group it wrote in the footer, so an
/// encoded row group cannot be left out (<see cref="CanDropChunk"/> is false). Instead, near the limit a row group is
/// closed as soon as its estimated size (the plain encoding of its values) reaches half of what
/// <see cref="QueryLimits.MaxResultBytes"/> leaves; should one still pass the limit, the answer ends with it. So a
/// Parquet answer passes the limit only if its last row group encodes to more than twice its estimate, and then by
/// at most that group, plus the footer; dictionaries and compression usually make groups far smaller than the estimate.
/// </remarks>
public sealed class ParquetQueryResultWriter : QueryResultWriter
{
    public const string MediaType = "application/vnd.apache.parquet";

    /// <summary>The footer's key-value metadata that says the answer was cut at a limit (<c>rows</c> or <c>bytes</c>).</summary>
    public const string TruncatedKey = "tradestore.truncated";

    private readonly BufferWriterStream _output = new();
    private IReadOnlyList<QueryResultColumnKind> _kinds = [];
    private DataField[] _fields = [];
    private ParquetWriter? _writer;
    private ColumnValues[] _columns = [];
    private long _chunkBytes;

    public override string ContentType => MediaType;

    protected override bool CanDropChunk => false;

    protected override void WriteHeader(IBufferWriter<byte> output, IReadOnlyList<QueryColumn> columns)
    {
        _kinds = QueryResultColumnKind.Of(columns);
        _fields = [.. _kinds.Select(Field)];
        _columns = [.. _kinds.Select(k => new ColumnValues(k))];
        _output.Target = output;
        // The stream completes every write at once, so waiting here blocks nothing (this runs on the query's own thread).
        _writer = ParquetWriter.CreateAsync(new ParquetSchema(_fields), _output).GetAwaiter().GetResult();
    }

    protected override void AddRow(IBufferWriter<byte> chunk, QueryRows rows, int index)
    {
        for (var c = 0; c < _columns.Length; c++)
        {
            _chunkBytes += _columns[c].Add(rows, c);
        }
    }

    protected override bool IsChunkFull(int rows, long bytesLeft) =>
        rows >= QueryResultColumnKind.ChunkRows || _chunkBytes >= Math.Min(QueryResultColumnKind.ChunkBytes, bytesLeft / 2);

    protected override void EndChunk(IBufferWriter<byte> chunk, int rows)
    {
        _output.Target = chunk;
        using (var group = _writer!.CreateRowGroup())
        {
            for (var c = 0; c < _columns.Length; c++)
            {
                _columns[c].WriteAsync(group, _fields[c]).GetAwaiter().GetResult();
            }
        }

        _chunkBytes = 0;
    }

    protected override void WriteFooter(IBufferWriter<byte> output, int rowCount, QueryTruncation truncation)
    {
        if (truncation != QueryTruncation.None)
        {
            _writer!.CustomMetadata = new Dictionary<string, string> { [TruncatedKey] = truncation == QueryTruncation.Rows ? "rows" : "bytes" };
        }

        _output.Target = output;
        _writer!.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private static DataField Field(QueryResultColumnKind column) => column.Kind switch
    {
        TypedValueKind.Boolean => new DataField<bool?>(column.Name),
        TypedValueKind.Int8 => new DataField<sbyte?>(column.Name),
        TypedValueKind.Int16 => new DataField<short?>(column.Name),
        TypedValueKind.Int32 => new DataField<int?>(column.Name),
        TypedValueKind.Int64 => new DataField<long?>(column.Name),
        TypedValueKind.UInt8 => new DataField<byte?>(column.Name),
        TypedValueKind.UInt16 => new DataField<ushort?>(column.Name),
        TypedValueKind.UInt32 => new DataField<uint?>(column.Name),
        TypedValueKind.UInt64 => new DataField<ulong?>(column.Name),
        TypedValueKind.Float32 => new DataField<float?>(column.Name),
        TypedValueKind.Float64 => new DataField<double?>(column.Name),
        TypedValueKind.Decimal => new DecimalDataField(column.Name, column.Precision, column.Scale, forceByteArrayEncoding: false, isNullable: true),
        TypedValueKind.Timestamp => new DateTimeDataField(column.Name, DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Micros, isNullable: true),
        TypedValueKind.Date => new DateTimeDataField(column.Name, DateTimeFormat.Date, isNullable: true),
        _ => new DataField(column.Name, typeof(string), true),
    };

    /// <summary>One column's values of the row group being built, in the .NET type Parquet.Net writes for its field.</summary>
    private sealed class ColumnValues(QueryResultColumnKind column)
    {
        private readonly List<object?> _values = new(1024);

        /// <summary>Adds the row's value; returns its estimated (plain-encoded) size in bytes.</summary>
        public long Add(QueryRows rows, int index)
        {
            if (rows.IsNull(index))
            {
                _values.Add(null);
                return 1;
            }

            var invariant = CultureInfo.InvariantCulture;
            switch (column.Kind)
            {
                case TypedValueKind.Boolean: _values.Add(Convert.ToBoolean(rows.Value(index), invariant)); return 1;
                case TypedValueKind.Int8: _values.Add(Convert.ToSByte(rows.Value(index), invariant)); return 4;
                case TypedValueKind.Int16: _values.Add(Convert.ToInt16(rows.Value(index), invariant)); return 4;
                case TypedValueKind.Int32: _values.Add(Convert.ToInt32(rows.Value(index), invariant)); return 4;
                case TypedValueKind.Int64: _values.Add(Convert.ToInt64(rows.Value(index), invariant)); return 8;
                case TypedValueKind.UInt8: _values.Add(Convert.ToByte(rows.Value(index), invariant)); return 4;
                case TypedValueKind.UInt16: _values.Add(Convert.ToUInt16(rows.Value(index), invariant)); return 4;
                case TypedValueKind.UInt32: _values.Add(Convert.ToUInt32(rows.Value(index), invariant)); return 4;
                case TypedValueKind.UInt64: _values.Add(Convert.ToUInt64(rows.Value(index), invariant)); return 8;
                case TypedValueKind.Float32: _values.Add(Convert.ToSingle(rows.Value(index), invariant)); return 4;
                case TypedValueKind.Float64: _values.Add(Convert.ToDouble(rows.Value(index), invariant)); return 8;
                case TypedValueKind.Decimal: _values.Add(Convert.ToDecimal(rows.Value(index), invariant)); return 16;
                case TypedValueKind.Timestamp: _values.Add(QueryResultColumnKind.Utc(rows, index).UtcDateTime); return 8;
                case TypedValueKind.Date: _values.Add(QueryResultColumnKind.Date(rows, index).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc)); return 4;
                default:
                    var text = QueryResultColumnKind.Text(rows, index);
                    _values.Add(text);
                    return 4 + System.Text.Encoding.UTF8.GetByteCount(text);
            }
        }

        /// <summary>Writes the values to the row group and forgets them.</summary>
        public async Task WriteAsync(ParquetRowGroupWriter group, DataField field)
        {
            switch (column.Kind)
            {
                case TypedValueKind.Boolean: await group.WriteAsync(field, Typed<bool>()); break;
                case TypedValueKind.Int8: await group.WriteAsync(field, Typed<sbyte>()); break;
                case TypedValueKind.Int16: await group.WriteAsync(field, Typed<short>()); break;
                case TypedValueKind.Int32: await group.WriteAsync(field, Typed<int>()); break;
                case TypedValueKind.Int64: await group.WriteAsync(field, Typed<long>()); break;
                case TypedValueKind.UInt8: await group.WriteAsync(field, Typed<byte>()); break;
                case TypedValueKind.UInt16: await group.WriteAsync(field, Typed<ushort>()); break;
                case TypedValueKind.UInt32: await group.WriteAsync(field, Typed<uint>()); break;
                case TypedValueKind.UInt64: await group.WriteAsync(field, Typed<ulong>()); break;
                case TypedValueKind.Float32: await group.WriteAsync(field, Typed<float>()); break;
                case TypedValueKind.Float64: await group.WriteAsync(field, Typed<double>()); break;
                case TypedValueKind.Decimal: await group.WriteAsync(field, Typed<decimal>()); break;
                case TypedValueKind.Timestamp or TypedValueKind.Date: await group.WriteAsync(field, Typed<DateTime>()); break;
                default: await group.WriteAsync(field, _values.Select(v => (string)v!).ToArray()); break;
            }

            _values.Clear();
        }

        private ReadOnlyMemory<T?> Typed<T>()
            where T : struct
        {
            var values = new T?[_values.Count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (T?)_values[i];
            }

            return values;
        }
    }
}
