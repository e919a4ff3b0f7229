using System.Text.Json;

namespace TradeStore.Server.Api;

/// <summary>One parsed batch item: the request, or why it could not be read.</summary>
public readonly record struct BatchItem(BatchItemRequest? Request, ApiProblem? Problem);

/// <summary>
/// Splits a batch body into items. Broken JSON syntax in a JSON array refuses the whole request (its items
/// cannot be told apart); an item that is well-formed but wrong (unknown field, bad decimal) fails alone,
/// as does each bad line of NDJSON.
/// </summary>
public static class BatchParser
{
    public static (IReadOnlyList<BatchItem>? Items, ApiProblem? Problem) ParseArray(byte[] body, int maxItems)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            return (null, Problems.FromJson(ex));
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                return (null, Problems.Validation("body", "A batch is a JSON array of commands (or NDJSON with Content-Type application/x-ndjson)."));
            }

            var count = document.RootElement.GetArrayLength();
            if ((Empty(count) ?? TooMany(count, maxItems)) is { } problem)
            {
                return (null, problem);
            }

            var items = new List<BatchItem>(count);
            foreach (var element in document.RootElement.EnumerateArray())
            {
                items.Add(Item(element, JsonPosition.None));
            }

            return (items, null);
        }
    }

    public static (IReadOnlyList<BatchItem>? Items, ApiProblem? Problem) ParseLines(byte[] body, int maxItems)
    {
        var items = new List<BatchItem>();
        var rest = body.AsMemory();
        var lineNumber = 0;
        while (rest.Length > 0)
        {
            var end = rest.Span.IndexOf((byte)'\n');
            var line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? default : rest[(end + 1)..];
            lineNumber++;
            if (line.Span.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }

            if (items.Count == maxItems)
            {
                return (null, Problems.BatchTooLarge(maxItems + 1, maxItems));
            }

            try
            {
                using var document = JsonDocument.Parse(line);
                items.Add(Item(document.RootElement, JsonPosition.InLine));
            }
            catch (JsonException ex)
            {
                items.Add(new BatchItem(null, Problems.FromJson(ex, JsonPosition.InLine)));
            }

            if (items[^1].Problem is { } problem)
            {
                items[^1] = new BatchItem(null, problem with { Detail = $"Line {lineNumber}: {problem.Detail}" });
            }
        }

        return Empty(items.Count) is { } empty ? (null, empty) : (items, null);
    }

    private static BatchItem Item(JsonElement element, JsonPosition at)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return new BatchItem(null, Problems.Validation("body", "Each batch item must be a JSON object."));
        }

        if (element.TryGetProperty("type"u8, out var type) && type.ValueKind == JsonValueKind.Null)
        {
            // Absent means a create; null is not absent, and a client that sent it meant some type it did not fill in.
            return new BatchItem(null, Problems.Validation("type", "type is null: send one of \"create\", \"amend\", \"fill\", \"cancel\", \"delete\", or leave it out for a create."));
        }

        try
        {
            return new BatchItem(element.Deserialize(ApiJson.Context.BatchItemRequest), null);
        }
        catch (JsonException ex)
        {
            return new BatchItem(null, Problems.FromJson(ex, at));
        }
    }

    private static ApiProblem? Empty(int count) =>
        count == 0 ? Problems.Validation("body", "The batch is empty: send at least one command.") : null;

    private static ApiProblem? TooMany(int count, int maxItems) => count > maxItems ? Problems.BatchTooLarge(count, maxItems) : null;
}
