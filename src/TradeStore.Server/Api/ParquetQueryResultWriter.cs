using System.Globalization;
using Parquet;
using Parquet.Schema;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>
/// Writes a query result as a Parquet file (<c>application/vnd.apache.parquet</c>): one row group per
/// <see cref="QueryResultColumnKind.ChunkRows"/> rows, each flushed to the response as soon as it is encoded, and the
/// footer last, so the answer is never held whole in memory. Decimals keep DuckDB's precision and scale
/// (<c>DECIMAL(18,8)</c> for money), times are microsecond timestamps adjusted to UTC; Snappy-compressed.
/// </summary>
public static class ParquetQueryResultWriter
{
    public const string MediaType = "application/vnd.apache.parquet";

    public static async Task WriteAsync(Stream output, QueryResult result, CancellationToken cancellationToken)
    {
        var kinds = QueryResultColumnKind.Of(result);
        var fields = kinds.Select(Field).ToArray();
        // Parquet records byte offsets in its footer; the response body cannot tell its position, this wrapper counts it.
        await using var counted = new WriteCountingStream(output);
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), counted, cancellationToken: cancellationToken))
        {
            for (var start = 0; start < result.Rows.Count; start += QueryResultColumnKind.ChunkRows)
            {
                var count = Math.Min(QueryResultColumnKind.ChunkRows, result.Rows.Count - start);
                using (var group = writer.CreateRowGroup())
                {
                    for (var c = 0; c < kinds.Count; c++)
                    {
                        await WriteColumnAsync(group, fields[c], kinds[c].Kind, result.Rows, start, count, c, cancellationToken);
                    }
                }

                await counted.FlushAsync(cancellationToken);
            }
        }

        await counted.FlushAsync(cancellationToken);
    }

    private static DataField Field(QueryResultColumnKind column) => column.Kind switch
    {
        QueryValueKind.Boolean => new DataField<bool?>(column.Name),
        QueryValueKind.Int8 => new DataField<sbyte?>(column.Name),
        QueryValueKind.Int16 => new DataField<short?>(column.Name),
        QueryValueKind.Int32 => new DataField<int?>(column.Name),
        QueryValueKind.Int64 => new DataField<long?>(column.Name),
        QueryValueKind.Float32 => new DataField<float?>(column.Name),
        QueryValueKind.Float64 => new DataField<double?>(column.Name),
        QueryValueKind.Decimal => new DecimalDataField(column.Name, column.Precision, column.Scale, forceByteArrayEncoding: false, isNullable: true),
        QueryValueKind.Timestamp => new DateTimeDataField(column.Name, DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Micros, isNullable: true),
        QueryValueKind.Date => new DateTimeDataField(column.Name, DateTimeFormat.Date, isNullable: true),
        _ => new DataField(column.Name, typeof(string), true),
    };

    private static Task WriteColumnAsync(ParquetRowGroupWriter group, DataField field, QueryValueKind kind, IReadOnlyList<object?[]> rows, int start, int count, int index,
        CancellationToken cancellationToken)
    {
        var invariant = CultureInfo.InvariantCulture;
        return kind switch
        {
            QueryValueKind.Boolean => group.WriteAsync(field, Values(rows, start, count, index, v => Convert.ToBoolean(v, invariant)), cancellationToken: cancellationToken),
            QueryValueKind.Int8 => group.WriteAsync(field, Values(rows, start, count, index, v => Convert.ToSByte(v, invariant)), cancellationToken: cancellationToken),
            QueryValueKind.Int16 => group.WriteAsync(field, Values(rows, start, count, index, v => Convert.ToInt16(v, invariant)), cancellationToken: cancellationToken),
            QueryValueKind.Int32 => group.WriteAsync(field, Values(rows, start, count, index, v => Convert.ToInt32(v, invariant)), cancellationToken: cancellationToken),
            QueryValueKind.Int64 => group.WriteAsync(field, Values(rows, start, count, index, v => Convert.ToInt64(v, invariant)), cancellationToken: cancellationToken),
            QueryValueKind.Float32 => group.WriteAsync(field, Values(rows, start, count, index, v => Convert.ToSingle(v, invariant)), cancellationToken: cancellationToken),
            QueryValueKind.Float64 => group.WriteAsync(field, Values(rows, start, count, index, v => Convert.ToDouble(v, invariant)), cancellationToken: cancellationToken),
            QueryValueKind.Decimal => group.WriteAsync(field, Values(rows, start, count, index, v => Convert.ToDecimal(v, invariant)), cancellationToken: cancellationToken),
            QueryValueKind.Timestamp => group.WriteAsync(field, Values(rows, start, count, index, v => QueryResultColumnKind.Utc(v).UtcDateTime), cancellationToken: cancellationToken),
            QueryValueKind.Date => group.WriteAsync(field, Values(rows, start, count, index, v => QueryResultColumnKind.Date(v).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc)),
                cancellationToken: cancellationToken),
            _ => group.WriteAsync(field, Texts(rows, start, count, index)),
        };
    }

    private static ReadOnlyMemory<T?> Values<T>(IReadOnlyList<object?[]> rows, int start, int count, int index, Func<object, T> convert)
        where T : struct
    {
        var values = new T?[count];
        for (var r = 0; r < count; r++)
        {
            values[r] = rows[start + r][index] is { } value ? convert(value) : null;
        }

        return values;
    }

    private static string[] Texts(IReadOnlyList<object?[]> rows, int start, int count, int index)
    {
        var values = new string[count];
        for (var r = 0; r < count; r++)
        {
            values[r] = rows[start + r][index] is { } value ? QueryResultColumnKind.Text(value) : null!;
        }

        return values;
    }

    /// <summary>A write-only pass-through that reports the bytes written so far as its <see cref="Position"/>.</summary>
    private sealed class WriteCountingStream(Stream inner) : Stream
    {
        private long _written;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _written;

        public override long Position
        {
            get => _written;
            set => throw new NotSupportedException("A response body cannot seek.");
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            // Kestrel refuses synchronous writes; Parquet.Net writes small headers synchronously, so they go through the async path.
            inner.WriteAsync(buffer.ToArray()).AsTask().GetAwaiter().GetResult();
            _written += buffer.Length;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken);
            _written += buffer.Length;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
