using System.Text.Json;

namespace TradeStore.Cli.Commands;

/// <summary>
/// The server's final <c>event: error</c> on a change feed: why it closed the stream and the seq to resume from. Read
/// defensively: an <c>error</c> event from something else on the way (a proxy) is not one, and once ended
/// <c>tradestore tail</c> with an unhandled exception.
/// </summary>
internal sealed record ChangeFeedEnd(string Title, long ResumeFromSeq)
{
    /// <summary>The end <paramref name="data"/> describes, or <see langword="null"/> when it is not TradeStore's final event.</summary>
    public static ChangeFeedEnd? TryRead(string data)
    {
        try
        {
            using var end = JsonDocument.Parse(data);
            var root = end.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("resumeFromSeq", out var resume) && resume.ValueKind == JsonValueKind.Number && resume.TryGetInt64(out var seq) && seq >= 1
                ? new ChangeFeedEnd(root.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String ? title.GetString()! : "no title", seq)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The start of <paramref name="data"/>, on one line, for a message.</summary>
    public static string Excerpt(string data)
    {
        var line = data.ReplaceLineEndings(" ").Trim();
        return line.Length == 0 ? "no data" : line.Length <= 120 ? $"data '{line}'" : $"data '{line[..120]}…'";
    }
}
