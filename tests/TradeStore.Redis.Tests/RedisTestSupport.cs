using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using TradeStore.Core.Options;
using TradeStore.Redis.Projection;
using TradeStore.Storage.Journal;
using TradeStore.Storage;
using TradeStore.TestSupport;

namespace TradeStore.Redis.Tests;

/// <summary>The shared test Redis with a key prefix owned by one test (deleted afterwards), and helpers to build the real parts on it.</summary>
public sealed class RedisScope : IAsyncDisposable
{
    private readonly bool _ownsMultiplexer;
    private readonly TestMeters _meters = new();

    private RedisScope(string endpoint, ConnectionMultiplexer multiplexer, string prefix, bool ownsMultiplexer)
    {
        Endpoint = endpoint;
        Multiplexer = multiplexer;
        Prefix = prefix;
        Keys = new RedisKeys(prefix);
        _ownsMultiplexer = ownsMultiplexer;
    }

    public string Endpoint { get; }

    public ConnectionMultiplexer Multiplexer { get; }

    public IDatabase Database => Multiplexer.GetDatabase();

    public string Prefix { get; }

    public RedisKeys Keys { get; }

    /// <summary>A prefix of its own on the test Redis, over the assembly's shared connection (<see cref="SharedRedis"/>).</summary>
    public static async Task<RedisScope> SharedAsync(string testClass) =>
        new(TestServers.Redis, await SharedRedis.ConnectAsync(), $"test:{testClass}:{Guid.NewGuid():N}:", ownsMultiplexer: false);

    /// <summary>A scope on another server (a <see cref="PrivateRedis"/>), with a connection of its own.</summary>
    public static async Task<RedisScope> OnAsync(string endpoint, string prefix)
    {
        var configuration = ConfigurationOptions.Parse(endpoint);
        configuration.AbortOnConnectFail = false;
        return new RedisScope(endpoint, await ConnectionMultiplexer.ConnectAsync(configuration), prefix, ownsMultiplexer: true);
    }

    public IOptions<RedisOptions> Options(int maxBatchSize = 1000) => Microsoft.Extensions.Options.Options.Create(new RedisOptions
    {
        Connection = Endpoint,
        KeyPrefix = Prefix,
        MaxBatchSize = maxBatchSize,
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
        RetryMaxDelay = TimeSpan.FromMilliseconds(300),
    });

    /// <param name="journal">What the projector reads: an engine's <see cref="PublishedJournal"/>, or DuckDB alone when <see langword="null"/>.</param>
    public RedisProjector Projector(DuckDbDatabase database, RedisConnection connection, int maxBatchSize = 1000, IJournalSource? journal = null) =>
        new(connection, database, journal ?? new JournalReader(database), Options(maxBatchSize), new RedisMetrics(_meters.Factory), NullLogger<RedisProjector>.Instance);

    public RedisConnection Connection() => RedisConnection.Create(Options().Value);

    /// <summary>Every key under the prefix, with its type and content, in a comparable form.</summary>
    public async Task<SortedDictionary<string, string>> DumpAsync()
    {
        var dump = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in await KeysAsync())
        {
            var type = await Database.KeyTypeAsync(key);
            if (key == Keys.Generation)
            {
                // By design a new unique value at each reset: only its presence compares.
                dump[(string)key!] = "(generation)";
                continue;
            }

            dump[(string)key!] = type switch
            {
                RedisType.Hash => string.Join(";", (await Database.HashGetAllAsync(key)).Select(e => $"{e.Name}={e.Value}").Order(StringComparer.Ordinal)),
                RedisType.String => (string)(await Database.StringGetAsync(key))!,
                RedisType.Stream => string.Join("\n", (await Database.StreamRangeAsync(key)).Select(e => $"{e.Id} " + string.Join(";", e.Values.Select(v => $"{v.Name}={v.Value}")))),
                _ => type.ToString(),
            };
        }

        return dump;
    }

    public async Task<List<RedisKey>> KeysAsync()
    {
        var server = Multiplexer.GetServers().Single();
        var keys = new List<RedisKey>();
        await foreach (var key in server.KeysAsync(pattern: Prefix.Replace("*", "\\*", StringComparison.Ordinal) + "*", pageSize: 1000))
        {
            keys.Add(key);
        }

        return keys;
    }

    public async Task DeleteAllAsync()
    {
        var keys = await KeysAsync();
        if (keys.Count > 0)
        {
            await Database.KeyDeleteAsync([.. keys]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Multiplexer.IsConnected)
            {
                await DeleteAllAsync();
            }
        }
        catch (RedisException)
        {
            // A private server may be gone already.
        }

        if (_ownsMultiplexer)
        {
            await Multiplexer.DisposeAsync();
        }

        _meters.Dispose();
    }
}

/// <summary>A redis-server process of its own, for tests that kill or flush it without disturbing the others.</summary>
public sealed class PrivateRedis : IDisposable
{
    private readonly TempDirectory _directory = new("redis");
    private Process? _process;

    public PrivateRedis()
    {
        Port = FreePort.Next();
    }

    public int Port { get; }

    public string Endpoint => $"127.0.0.1:{Port}";

    public static void RequireServer()
    {
        _ = TestServers.Redis; // skips (or fails under CI) when the suite runs without the script's servers
    }

    public async Task StartAsync()
    {
        _process = QuietProcess.Start("redis-server",
            ["--bind", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--dir", _directory.Path, "--save", "", "--appendonly", "no"]);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync("127.0.0.1", Port);
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new TimeoutException($"redis-server on port {Port} did not start");
    }

    /// <summary>SIGSTOP: the server keeps its connections open and answers nothing, as a frozen host or a partition that drops packets.</summary>
    public void Pause()
    {
        using var kill = Process.Start("kill", ["-STOP", _process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>SIGKILL: the server vanishes without a goodbye, as in a crash.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            process.WaitForExit();
        }
    }

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
        _directory.Dispose();
    }
}
