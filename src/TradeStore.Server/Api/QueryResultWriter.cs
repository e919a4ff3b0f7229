using System.Buffers;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>The limits every <c>POST /v1/query</c> answer is held to, whatever its format (<c>Security:Query</c>).</summary>
/// <param name="MaxRows">Most rows written.</param>
/// <param name="MaxResultBytes">Most bytes of the body: rows stop before it would pass this.</param>
/// <param name="Timeout">How long the caller waits for the answer; the query is interrupted then.</param>
/// <param name="MaxMemory">How much the process may grow while a query runs before it is interrupted.</param>
public sealed record QueryLimits(int MaxRows, long MaxResultBytes, TimeSpan Timeout, long MaxMemory);

/// <summary>Why an answer holds fewer rows than the query produced.</summary>
public enum QueryTruncation
{
    None,

    /// <summary>It reached <see cref="QueryLimits.MaxRows"/>.</summary>
    Rows,

    /// <summary>The next row would have passed <see cref="QueryLimits.MaxResultBytes"/>.</summary>
    Bytes,
}

/// <summary>How many rows an answer holds, and whether (and why) rows were left out.</summary>
public sealed record QueryResult(int RowCount, QueryTruncation Truncation);

/// <summary>A written answer held whole in memory: its body, how many rows it holds, and whether (and why) rows were left out.</summary>
public sealed record QueryOutput(ReadOnlyMemory<byte> Body, string ContentType, int RowCount, QueryTruncation Truncation);

/// <summary>
/// Writes a query's rows in one format. The row and byte limits are applied here, once for the formats that take rows
/// (JSON, CSV, Parquet), while the rows stream from DuckDB; Arrow takes DuckDB's own record batches instead
/// (<see cref="TakesBatches"/>) and applies the same limits per batch. Rows are written in chunks: a row format (JSON,
/// CSV) makes each row its own chunk, Parquet gathers rows into a row group of bounded size.
/// A chunk is kept only if the body stays within <see cref="QueryLimits.MaxResultBytes"/>; so a columnar answer stops at
/// the batch that would pass the limit, not at the exact row. Each kept chunk goes to the <see cref="QueryBody"/> at
/// once, whole: a streaming body sends it while DuckDB produces the next rows.
/// </summary>
/// <remarks>
/// An answer whose first bytes were sent can no longer become a problem+json: the format says in its own bytes that it was
/// cut at a limit (<see cref="WriteFooter"/>) or that it failed (<see cref="WriteError"/>). A format that has no place for
/// either (CSV) does not stream (<see cref="Streams"/>).
/// </remarks>
public abstract class QueryResultWriter
{
    /// <summary>The <c>Content-Type</c> of the body.</summary>
    public abstract string ContentType { get; }

    /// <summary>
    /// Whether the answer may be sent before it is complete: the format can say in its own bytes that it was truncated
    /// or failed. <see langword="false"/> keeps the whole answer (bounded by <see cref="QueryLimits.MaxResultBytes"/>)
    /// until it is complete, so its truncation is the <c>X-Truncated</c> header and a late failure a problem+json.
    /// </summary>
    public virtual bool Streams => true;

    /// <summary>
    /// Whether a chunk found too large can be left out after it was encoded. A format whose encoder remembers every
    /// chunk it wrote (Parquet's footer lists each row group) answers <see langword="false"/>: such a chunk is kept and
    /// the answer ends with it, so the format must close its chunks early enough (<see cref="IsChunkFull"/>).
    /// </summary>
    protected virtual bool CanDropChunk => true;

    /// <summary>
    /// Whether the writer takes DuckDB's own Arrow record batches (<see cref="WriteBatches"/>) instead of rows: then each
    /// column is read through the SQL expression <see cref="BatchColumn"/> makes of it.
    /// </summary>
    public virtual bool TakesBatches => false;

    /// <summary>The SQL expression a column is read through when the writer <see cref="TakesBatches"/> (<paramref name="position"/> is <c>#n</c>).</summary>
    public virtual string BatchColumn(QueryColumn column, string position) => throw new NotSupportedException($"{GetType().Name} takes rows.");

    /// <summary>Writes the answer from DuckDB's Arrow batches, under the same limits, when the writer <see cref="TakesBatches"/>.</summary>
    public virtual QueryResult WriteBatches(IReadOnlyList<QueryColumn> columns, Apache.Arrow.Ipc.IArrowArrayStream batches, QueryLimits limits, QueryBody body) =>
        throw new NotSupportedException($"{GetType().Name} takes rows.");

    /// <summary>Writes the whole answer into memory (bounded by <see cref="QueryLimits.MaxResultBytes"/>).</summary>
    public QueryOutput Write(QueryRows rows, QueryLimits limits)
    {
        var body = new BufferedQueryBody();
        var result = Write(rows, limits, body);
        return new QueryOutput(body.WrittenMemory, ContentType, result.RowCount, result.Truncation);
    }

    /// <summary>Writes the header, as many rows as the limits allow, and the footer to <paramref name="body"/>, each chunk as it is complete.</summary>
    public QueryResult Write(QueryRows rows, QueryLimits limits, QueryBody body)
    {
        var chunk = new ArrayBufferWriter<byte>();
        WriteHeader(chunk, rows.Columns);
        body.Append(chunk.WrittenSpan);
        chunk.ResetWrittenCount();
        var count = 0;
        var pending = 0;
        var truncation = QueryTruncation.None;
        while (rows.Read())
        {
            if (count + pending == limits.MaxRows)
            {
                truncation = QueryTruncation.Rows;
                break;
            }

            AddRow(chunk, rows, count + pending);
            pending++;
            if (IsChunkFull(pending, limits.MaxResultBytes - body.Written) && !Commit())
            {
                break;
            }
        }

        if (pending > 0)
        {
            Commit();
        }

        WriteFooter(chunk, count, truncation);
        body.Append(chunk.WrittenSpan);
        return new QueryResult(count, truncation);

        // Ends the chunk and keeps it if the body stays within the byte limit; false when the answer must stop here.
        bool Commit()
        {
            EndChunk(chunk, pending);
            var fits = body.Written + chunk.WrittenCount <= limits.MaxResultBytes;
            if (!fits)
            {
                truncation = QueryTruncation.Bytes;
            }

            if (fits || !CanDropChunk)
            {
                body.Append(chunk.WrittenSpan);
                count += pending;
            }

            pending = 0;
            chunk.ResetWrittenCount();
            return fits;
        }
    }

    /// <summary>
    /// What ends an answer that failed after its first bytes were sent, in the format's own terms, with the problem
    /// (<paramref name="problemJson"/>, an RFC 7807 document): a reader that knows the mark reports the problem, and the
    /// body is left an invalid document of its format, so no reader can take it as complete. Nothing by default (a
    /// Parquet file without its footer is invalid already).
    /// </summary>
    public virtual void WriteError(IBufferWriter<byte> output, ReadOnlySpan<byte> problemJson)
    {
    }

    /// <summary>What comes before the rows (column names and types).</summary>
    protected abstract void WriteHeader(IBufferWriter<byte> output, IReadOnlyList<QueryColumn> columns);

    /// <summary>
    /// Adds the current row to the chunk: a row format writes it to <paramref name="chunk"/>, with whatever separates it
    /// from the row before (<paramref name="index"/> &gt; 0); a columnar format keeps it until <see cref="EndChunk"/>.
    /// </summary>
    protected abstract void AddRow(IBufferWriter<byte> chunk, QueryRows rows, int index);

    /// <summary>Whether the chunk of <paramref name="rows"/> rows is complete; <paramref name="bytesLeft"/> is what the byte limit still allows. One row by default.</summary>
    protected virtual bool IsChunkFull(int rows, long bytesLeft) => true;

    /// <summary>Writes what <see cref="AddRow"/> kept (a columnar format's batch) to <paramref name="chunk"/>, and forgets it.</summary>
    protected virtual void EndChunk(IBufferWriter<byte> chunk, int rows)
    {
    }

    /// <summary>What comes after the rows; a streaming format says here whether (and why) it was truncated.</summary>
    protected abstract void WriteFooter(IBufferWriter<byte> output, int rowCount, QueryTruncation truncation);
}
