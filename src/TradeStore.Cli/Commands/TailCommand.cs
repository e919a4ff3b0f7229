using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using TradeStore.Redis;
using TradeStore.Redis.Streams;
using TradeStore.Server.Configuration;

namespace TradeStore.Cli.Commands;

/// <summary><c>tradestore tail [--from SEQ]</c>: prints the Redis change stream as one JSON object per line, following it live.</summary>
public static class TailCommand
{
    private static readonly TimeSpan Block = TimeSpan.FromSeconds(1);
    private const int PageSize = 1000;

    private static readonly Option<long?> FromSeq = new("--from")
    {
        Description = "Start at this seq (inclusive) instead of only new events.",
        HelpName = "SEQ",
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
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
            var options = RedisCommandSupport.RequireRedis(settings);
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
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

                    while (!stop.IsCancellationRequested)
                    {
                        var entries = await reader.ReadAsync(PageSize, Block);
                        if (entries.Count == 0)
                        {
                            continue;
                        }

                        foreach (var entry in entries)
                        {
                            output.WriteLine(ToJson(entry.Fields));
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
