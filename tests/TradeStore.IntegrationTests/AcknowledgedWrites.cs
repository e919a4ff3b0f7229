using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;

namespace TradeStore.IntegrationTests;

/// <summary>
/// What clients were told while a server was being killed: each trade's acknowledged version and the version a
/// command still unanswered would make. <see cref="AssertDurableAsync"/> checks the server against it: every
/// acknowledged write present, nothing that was never written, in-flight outcomes settled once.
/// </summary>
internal static class AcknowledgedWrites
{
    /// <summary>
    /// One client: creates a trade, then amends every other one, recording each acknowledged version, and
    /// what is in flight when the connection dies (it may or may not have committed: both are correct).
    /// </summary>
    public static async Task WriteUntilStoppedAsync(HttpClient http, ConcurrentDictionary<string, Written> ledger, string prefix, CancellationToken stop)
    {
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var tradeId = $"{prefix}-{n}";
            var written = ledger[tradeId] = new Written(0, 1);
            var body = $$"""{"tradeId":"{{tradeId}}","account":"ACC-{{n % 5}}","symbol":"SYM","side":"buy","quantity":"{{n + 1}}.00000001","price":"1.5"}""";
            if (await SendAsync(http, "/v1/trades", body, HttpStatusCode.Created) is not { } created)
            {
                return;
            }

            written = ledger[tradeId] = new Written(created, 0);
            if (n % 2 == 1)
            {
                ledger[tradeId] = written with { InFlight = created + 1 };
                if (await SendAsync(http, $"/v1/trades/{tradeId}/amend", $$"""{"expectedVersion":{{created}},"price":"2.5"}""", HttpStatusCode.OK) is not { } amended)
                {
                    return;
                }

                ledger[tradeId] = new Written(amended, 0);
            }
        }
    }

    /// <summary>The acknowledged version, or <see langword="null"/> once the server is gone.</summary>
    public static async Task<long?> SendAsync(HttpClient http, string path, string body, HttpStatusCode expected)
    {
        try
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(path, content);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == expected, $"{path}: {(int)response.StatusCode} {text}");
            return JsonDocument.Parse(text).RootElement.GetProperty("version").GetInt64();
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
        {
            return null; // killed: this command's outcome is unknown
        }
    }

    public static async Task AssertDurableAsync(HttpClient http, ConcurrentDictionary<string, Written> ledger, string when)
    {
        var stored = await ReadAllAsync(http);
        foreach (var (tradeId, written) in ledger)
        {
            if (written.Acknowledged == 0)
            {
                // Never acknowledged: absent, or present at version 1 if the create committed before the kill.
                var present = stored.TryGetValue(tradeId, out var v);
                Assert.True(!present || v == 1, $"{when}: unacknowledged {tradeId} at version {v}");
                if (present)
                {
                    ledger[tradeId] = new Written(1, 0);
                }

                continue;
            }

            Assert.True(stored.TryGetValue(tradeId, out var version), $"{when}: acknowledged {tradeId} (version {written.Acknowledged}) is missing");
            Assert.True(version == written.Acknowledged || version == written.InFlight,
                $"{when}: {tradeId} is at version {version}; acknowledged {written.Acknowledged}, in flight {written.InFlight}");
            // Settle the outcome: a later round must see the same.
            ledger[tradeId] = new Written(version, 0);
        }

        Assert.All(stored.Keys, id => Assert.True(ledger.ContainsKey(id), $"{when}: {id} was never written"));
    }

    public static async Task<Dictionary<string, long>> ReadAllAsync(HttpClient http)
    {
        var versions = new Dictionary<string, long>();
        string? cursor = null;
        do
        {
            var text = await http.GetStringAsync("/v1/trades?limit=1000" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            var page = JsonDocument.Parse(text).RootElement;
            foreach (var trade in page.GetProperty("items").EnumerateArray())
            {
                versions.Add(trade.GetProperty("tradeId").GetString()!, trade.GetProperty("version").GetInt64());
            }

            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        return versions;
    }

    public static int Acknowledged(ConcurrentDictionary<string, Written> ledger, string prefix) =>
        ledger.Count(w => w.Key.StartsWith(prefix, StringComparison.Ordinal) && w.Value.Acknowledged > 0);

    public static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
    }

}

/// <summary>The last acknowledged version of a trade (0: none yet) and the version an unanswered command would make (0: none).</summary>
internal sealed record Written(long Acknowledged, long InFlight);
