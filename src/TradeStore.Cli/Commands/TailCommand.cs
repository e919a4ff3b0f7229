using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using StackExchange.Redis;
using TradeStore.Redis;
using TradeStore.Server.Configuration;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore tail [--from SEQ] [--url URL] [--account A] [--symbol S]</c>: prints the change stream as one JSON object
/// per line, following it live: from a running server's <c>GET /v1/changes</c> with <c>--url</c> (or when Redis is not
/// configured, from the first <c>Server:Urls</c> address), otherwise from the Redis stream.
/// </summary>
public static class TailCommand
{
    private const int BlockMilliseconds = 1000;
    private const int PageSize = 1000;

    private static readonly Option<long?> FromSeq = new("--from")
    {
        Description = "Start at this seq (inclusive) instead of only new events.",
        HelpName = "SEQ",
    };

    private static readonly Option<Uri?> Url = new("--url")
    {
        Description = "Follow this server's change feed (GET /v1/changes) instead of Redis, e.g. http://127.0.0.1:5080. The API key, if any, is read from TRADESTORE_API_KEY.",
        HelpName = "URL",
        CustomParser = result => Uri.TryCreate(result.Tokens[0].Value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : ParseError(result, $"--url must be an absolute http:// or https:// address, got '{result.Tokens[0].Value}'."),
    };

    private static readonly Option<string?> Account = new("--account")
    {
        Description = "Only this account (change feed only).",
        HelpName = "ACCOUNT",
    };

    private static readonly Option<string?> Symbol = new("--symbol")
    {
        Description = "Only this symbol (change feed only).",
        HelpName = "SYMBOL",
    };

    private static readonly HashSet<string> Numbers = new(StringComparer.Ordinal) { "seq", "version", "lastSeq" };

    public static Command Create()
    {
        FromSeq.Validators.Add(result =>
        {
            if (result.GetValue(FromSeq) is < 1)
            {
                result.AddError("--from must be a seq of 1 or more.");
            }
        });
        var command = new Command("tail", "Print the change stream (one JSON line per event) and follow it until Ctrl-C. Works while the service runs.")
        {
            FromSeq,
            Url,
            Account,
            Symbol,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            var account = parseResult.GetValue(Account);
            var symbol = parseResult.GetValue(Symbol);
            var url = parseResult.GetValue(Url);
            if (url is not null || !settings.Redis.Enabled)
            {
                var server = url ?? FirstServerUrl(settings);
                var tail = new ChangeFeedTail(server, Environment.GetEnvironmentVariable(ChangeFeedTail.ApiKeyVariable), output, error);
                return await tail.RunAsync(parseResult.GetValue(FromSeq), account, symbol, stop.Token);
            }

            if (account is not null || symbol is not null)
            {
                throw new ConfigurationException("--account and --symbol filter the server's change feed: add --url (Redis's stream is read unfiltered).");
            }

            var options = settings.Redis;
            var keys = new RedisKeys(options.KeyPrefix);
            try
            {
                // By design a connection of its own: XREAD BLOCK holds it while waiting.
                var (connection, redis) = await RedisCommandSupport.ConnectAsync(options, stop.Token);
                await using (connection)
                {
                    var after = await StartAfterAsync(redis, keys, parseResult.GetValue(FromSeq), error);
                    while (!stop.IsCancellationRequested)
                    {
                        var result = await redis.ExecuteAsync("XREAD", "COUNT", PageSize, "BLOCK", BlockMilliseconds, "STREAMS", (string)keys.Stream!, after);
                        if (result.IsNull)
                        {
                            continue;
                        }

                        foreach (var entry in Entries(result))
                        {
                            var parts = (RedisResult[])entry!;
                            after = (string)parts[0]!;
                            output.WriteLine(ToJson((RedisResult[])parts[1]!));
                        }

                        output.Flush();
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Ctrl-C.
            }
            catch (Exception ex) when (RedisCommandSupport.IsRedisFailure(ex))
            {
                if (stop.IsCancellationRequested)
                {
                    return ExitCodes.Success;
                }

                return RedisCommandSupport.Unreachable(error, options, ex);
            }

            return ExitCodes.Success;

            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                stop.Cancel();
            }
        });
        return command;
    }

    /// <summary>The first <c>Server:Urls</c> address, with a wildcard host replaced by loopback.</summary>
    private static Uri FirstServerUrl(TradeStoreSettings settings)
    {
        var first = settings.Server.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
        return new Uri(first.Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://*", "://127.0.0.1", StringComparison.Ordinal).Replace("://+", "://127.0.0.1", StringComparison.Ordinal));
    }

    private static Uri? ParseError(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return null;
    }

    /// <summary>The entry id to read after: just before <paramref name="from"/>, or the newest entry for "only new events".</summary>
    private static async Task<string> StartAfterAsync(IDatabase redis, RedisKeys keys, long? from, TextWriter error)
    {
        if (from is { } seq)
        {
            var oldest = await redis.StreamRangeAsync(keys.Stream, "-", "+", 1);
            if (oldest.Length > 0 && RedisFormat.SeqOfStreamId((string)oldest[0].Id!) > seq)
            {
                error.WriteLine($"tradestore: the stream starts at seq {RedisFormat.SeqOfStreamId((string)oldest[0].Id!)}; older events were trimmed (Redis:StreamMaxLength).");
            }

            return RedisFormat.StreamId(seq - 1);
        }

        var newest = await redis.StreamRangeAsync(keys.Stream, "-", "+", 1, Order.Descending);
        return newest.Length > 0 ? (string)newest[0].Id! : "0-0";
    }

    /// <summary>The entries of an XREAD reply for one stream: RESP2 nests [[key, entries]], RESP3 answers a map {key: entries}.</summary>
    private static RedisResult[] Entries(RedisResult reply)
    {
        var top = (RedisResult[])reply!;
        if (top.Length == 0)
        {
            return [];
        }

        return top[0].Resp2Type == ResultType.Array ? (RedisResult[])((RedisResult[])top[0]!)[1]! : (RedisResult[])top[1]!;
    }

    private static string ToJson(RedisResult[] fields)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            for (var i = 0; i + 1 < fields.Length; i += 2)
            {
                var name = (string)fields[i]!;
                var value = (string)fields[i + 1]!;
                if (Numbers.Contains(name) && long.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var number))
                {
                    json.WriteNumber(name, number);
                }
                else
                {
                    json.WriteString(name, value);
                }
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
