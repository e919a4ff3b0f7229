using System.Buffers;
using System.Text;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>
/// RFC 4180 CSV (<c>Accept: text/csv</c>): a header row of column names, then one line per row; NULL is an empty field.
/// Whether rows were left out is said by the <c>X-Truncated</c> header, which the endpoint sets.
/// </summary>
/// <remarks>
/// By design CSV is not streamed: it has no place to say that it was cut at a limit or failed part-way, so the whole
/// answer (bounded by <c>Security:Query:MaxResultBytes</c>) is held until it is complete.
/// </remarks>
public sealed class CsvQueryResultWriter : QueryResultWriter
{
    public override string ContentType => "text/csv; charset=utf-8";

    public override bool Streams => false;

    protected override void WriteHeader(IBufferWriter<byte> output, IReadOnlyList<QueryColumn> columns) =>
        WriteLine(output, columns.Select(c => Quote(c.Name)));

    protected override void AddRow(IBufferWriter<byte> output, QueryRows rows, int index) =>
        WriteLine(output, Enumerable.Range(0, rows.Columns.Count).Select(i => rows.IsNull(i) ? "" : Quote(QueryValueText.Of(rows, i))));

    protected override void WriteFooter(IBufferWriter<byte> output, int rowCount, QueryTruncation truncation)
    {
    }

    private static void WriteLine(IBufferWriter<byte> output, IEnumerable<string> fields)
    {
        var line = string.Join(',', fields) + "\r\n";
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(line.Length));
        output.Advance(Encoding.UTF8.GetBytes(line, span));
    }

    /// <summary>RFC 4180: quote a field holding a comma, quote or line break, doubling inner quotes.</summary>
    private static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
