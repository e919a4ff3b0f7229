using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using TradeStore.Redis;
using TradeStore.Redis.Streams;
using TradeStore.Server.Configuration;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore tail [--from SEQ] [--url URL] [--account A] [--symbol S]</c>: prints the change stream as one JSON object
/// per line, following it live: from a running server's <c>GET /v1/changes</c> with <c>--url</c> (or when Redis is not
/// configured, from the first <c>Server:Urls</c> address), otherwise from the Redis stream.
/// </summary>
public static class TailCommand
{
    private static readonly TimeSpan Block = TimeSpan.FromSeconds(1);
    private const int PageSize = 1000;

    private static readonly Option<long?> FromSeq = new("--from")
    {
        Description = "Start at this seq (inclusive) instead of only new events.",
        HelpName = "SEQ",
        // By design parsed here, not by a validator: a validator reading an unparsable value threw instead of reporting it.
        CustomParser = result => long.TryParse(result.Tokens[0].Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seq) && seq >= 1
            ? seq
            : ParseError<long?>(result, $"--from must be a seq of 1 or more, got '{result.Tokens[0].Value}'."),
    };

    private static readonly Option<Uri?> Url = new("--url")
    {
        Description = "Follow this server's change feed (GET /v1/changes), e.g. http://127.0.0.1:5080 (a path is kept: http://gateway/tradestore follows http://gateway/tradestore/v1/changes). Without it: Redis's stream when Redis is configured, else the change feed at the first Server:Urls address. The API key, if any, is read from TRADESTORE_API_KEY.",
        HelpName = "URL",
        CustomParser = result => Uri.TryCreate(result.Tokens[0].Value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : ParseError<Uri>(result, $"--url must be an absolute http:// or https:// address, got '{result.Tokens[0].Value}'."),
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
        var command = new Command("tail", "Print the change stream (one JSON line per event) and follow it until Ctrl-C. Works while the service runs. With --url (or without Redis) the lines are the change feed's events; from Redis they are its flat stream entries (docs/change-feed.md). " +
            "Once following the feed, a lost connection or a 429/502/503/504 answer (a restarting server, too-many-subscribers, seq-not-reached, the key's stream or request limit) is retried from the last seq printed, " +
            "after the server's Retry-After or 1 s doubling to 30 s, with one line on stderr per retry. From Redis likewise a lost connection (a Redis restart) once following, and events trimmed from the stream (Redis:StreamMaxLength) before tail read them are named on stderr. Exit codes: 0 Ctrl-C/SIGTERM; 1 the server unreachable or refusing at the first connection, any other refusal (401, 403, ...), or an answer that is not an event stream (--url is not a TradeStore server); 2 a bad command line or a 400.")
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
            // A quiet feed writes nothing, so no EPIPE would tell that `| head -1` has its line: this does.
            using var readerWatch = OutputReaderWatch.Start(StopQuietly);
            var account = parseResult.GetValue(Account);
            var symbol = parseResult.GetValue(Symbol);
            var url = parseResult.GetValue(Url);
            if (url is not null || !settings.Redis.Enabled)
            {
                var server = url ?? FirstServerUrl(settings);
                var tail = new ChangeFeedTail(server, ChangeFeedTail.ApiKeyFromEnvironment(), output, error);
                var exitCode = await tail.RunAsync(parseResult.GetValue(FromSeq), account, symbol, stop.Token);
                return readerWatch.ReaderGone ? ExitCodes.OutputFailed : exitCode;
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
                    var reader = new ChangeStreamReader(redis, keys);
                    if (await reader.StartAsync(parseResult.GetValue(FromSeq)) is { } trimmedTo)
                    {
                        error.WriteLine($"tradestore: the stream starts at seq {trimmedTo}; older events were trimmed (Redis:StreamMaxLength).");
                    }

                    var failures = 0;
                    while (!stop.IsCancellationRequested)
                    {
                        IReadOnlyList<ChangeStreamEntry> entries;
                        try
                        {
                            entries = await reader.ReadAsync(PageSize, Block);
                            failures = 0;
                        }
                        catch (Exception ex) when (RedisCommandSupport.IsRedisFailure(ex) && !stop.IsCancellationRequested)
                        {
                            // Once following, a Redis restart is ridden through as the feed's is: the projector writes
                            // every event under the same id again, so reading on from the last one printed loses nothing.
                            failures++;
                            var delay = ChangeFeedTail.Delay(failures, null);
                            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                $"{RedisCommandSupport.UnreachableLine(options, ex)}; retrying in {delay.TotalSeconds:0.#} s from {reader.Position}"));
                            await Task.Delay(delay, stop.Token);
                            continue;
                        }

                        foreach (var entry in entries)
                        {
                            if (entry.MissedBefore > 0)
                            {
                                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                    $"tradestore: seq {entry.Seq - entry.MissedBefore}..{entry.Seq - 1} ({entry.MissedBefore} events) are missing from the stream before seq {entry.Seq}: trimmed (Redis:StreamMaxLength) before tail read them, or deleted; the change feed (--url) still has them."));
                            }

                            output.WriteLine(ToJson(entry.Fields));
                        }

                        if (entries.Count > 0)
                        {
                            output.Flush();
                        }
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
                    return Stopped();
                }

                return RedisCommandSupport.Unreachable(error, options, ex);
            }

            return Stopped();

            // Ctrl-C or SIGTERM is a success; the reader of the output gone is exit 8, quietly, as a failed write to it is.
            int Stopped() => readerWatch.ReaderGone ? ExitCodes.OutputFailed : ExitCodes.Success;

            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                stop.Cancel();
            }

            void StopQuietly()
            {
                try
                {
                    stop.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The command already ended.
                }
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

    private static T? ParseError<T>(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return default;
    }

    private static string ToJson(IReadOnlyList<KeyValuePair<string, string>> fields)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (name, value) in fields)
            {
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
