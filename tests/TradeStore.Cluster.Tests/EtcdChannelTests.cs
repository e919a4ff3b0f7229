using System.Collections.Concurrent;
using System.Net.Sockets;
using TradeStore.Core.Threading;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>Tests that block every socket event thread of the process, so they run alone.</summary>
[CollectionDefinition(nameof(EventThreadsBlockedCollection), DisableParallelization = true)]
public sealed class EventThreadsBlockedCollection;

/// <summary>
/// A cluster node runs requests on .NET's socket event threads (<c>Server:InlineScheduling</c>), so its etcd
/// connections are read by threads of their own (<see cref="EtcdChannel"/>): a lease renewal is answered while every
/// event thread is busy. On sockets the event threads poll, the renewal's answer would wait behind them.
/// </summary>
[Collection(nameof(EventThreadsBlockedCollection))]
public sealed class EtcdChannelTests
{
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    [Fact(Timeout = 60_000)]
    public async Task LeaseRenewal_IsAnsweredWhileEverySocketEventThreadIsBlocked()
    {
        Assert.True(SocketEventThreads.InlineCompletions, "the test process polls its sockets as serve does (tests/Shared/ProductionSocketMode.cs)");
        var ct = TestContext.Current.CancellationToken;
        using var store = new EtcdClusterStore(Options(TestServers.Etcd));
        var (lease, _) = await store.GrantAsync(TimeSpan.FromSeconds(10), ct);

        using (var blocked = await EventThreadBlocker.BlockAllAsync())
        {
            var renewal = store.KeepAliveOnceAsync(lease, ct);
            var status = store.ReadStatusAsync(ct);

            // 20 s each (within the test's 60 s): on a loaded machine the answers may be seconds late; blocked, they never come.
            Assert.True(await renewal.WaitAsync(TimeSpan.FromSeconds(20), ct) > TimeSpan.Zero, "etcd renewed the lease");
            Assert.NotNull(await status.WaitAsync(TimeSpan.FromSeconds(20), ct));
            Assert.True(blocked.StillBlocked, $"the {blocked.Threads} event threads were blocked throughout");
        }

        await store.RevokeAsync(lease, ct);
    }

    [Fact]
    public async Task Channel_ConnectsToTheNextEndpoint_WhenOneRefuses()
    {
        var ct = TestContext.Current.CancellationToken;
        using var port = new RefusingPort();
        var refusing = $"http://127.0.0.1:{port.Port}";
        using var store = new EtcdClusterStore(Options($"{refusing},{TestServers.Etcd}"));

        var (lease, ttl) = await store.GrantAsync(TimeSpan.FromSeconds(5), ct);

        Assert.True(ttl >= TimeSpan.FromSeconds(5), $"granted {ttl}");
        Assert.Equal(1, store.EtcdConnections); // opened through EtcdChannel, to the second endpoint
        await store.RevokeAsync(lease, ct);
    }

    [Fact]
    public async Task ReaderThreadStream_ReadsOnItsOwnThread_ContinuesOffIt_AndEndsAtTheEndOfTheStream()
    {
        var ct = TestContext.Current.CancellationToken;
        var (client, server) = SocketEventThread.ConnectedPair();
        using var peer = server;
        await using var stream = new ReaderThreadStream(client, "test-reader");
        var buffer = new byte[16];

        var waitForData = stream.ReadAsync(Memory<byte>.Empty, ct).AsTask();
        await Task.Delay(100, ct);
        Assert.False(waitForData.IsCompleted, "a zero-byte read waits for data");
        await peer.SendAsync("hello"u8.ToArray(), ct);
        Assert.Equal(0, await waitForData.WaitAsync(TimeSpan.FromSeconds(5), ct));

        var read = stream.ReadAsync(buffer, ct).AsTask();
        Assert.Equal(5, await read.WaitAsync(TimeSpan.FromSeconds(5), ct));
        Assert.Equal("hello"u8.ToArray(), buffer[..5]);
        Assert.False(ReaderThreadStream.IsReaderThread, "the continuation runs off the reader thread");

        await stream.WriteAsync("back"u8.ToArray(), ct);
        var echoed = new byte[4];
        Assert.Equal(4, await peer.ReceiveAsync(echoed, ct));
        Assert.Equal("back"u8.ToArray(), echoed);

        peer.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await stream.ReadAsync(buffer, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(5), ct));
        Assert.Equal(0, await stream.ReadAsync(buffer, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(5), ct));
    }

    /// <summary>
    /// Disposed right after the read was asked for (the reader thread most often not yet in its receive) or a while
    /// after (the reader blocked in it): the read fails either way. A loaded CI machine once had the read answer 0, as
    /// if the peer had ended the stream: the reader woke from Dispose's shutdown before Dispose closed the socket (which
    /// turns the receive into an error). That interleaving cannot be forced from here; the stream now fails any read
    /// that ends after Dispose began.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(300)]
    public async Task ReaderThreadStream_DisposedDuringARead_FailsTheRead(int millisecondsBeforeDispose)
    {
        var ct = TestContext.Current.CancellationToken;
        var (client, server) = SocketEventThread.ConnectedPair();
        using var peer = server;
        var stream = new ReaderThreadStream(client, "test-reader");
        var read = stream.ReadAsync(new byte[16], ct).AsTask();

        await Task.Delay(millisecondsBeforeDispose, ct);
        await stream.DisposeAsync();

        await Assert.ThrowsAsync<IOException>(() => read.WaitAsync(TimeSpan.FromSeconds(5), ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => stream.ReadAsync(new byte[16], ct).AsTask());
    }

    private ClusterOptions Options(string etcd) => new() { Etcd = etcd, Node = "test", AdvertiseUrl = "http://test:1", KeyPrefix = _prefix };

    /// <summary>
    /// Holds every socket event thread of the process: socket receives whose completions (run inline on the event
    /// thread that polled them) wait on a gate, over enough sockets that each event thread polls one.
    /// </summary>
    private sealed class EventThreadBlocker : IDisposable
    {
        private readonly ManualResetEventSlim _gate = new();
        private readonly ConcurrentDictionary<int, bool> _held = new();
        private readonly List<Socket> _sockets = [];
        private int _eventThreads;

        public int Threads => _held.Count;

        /// <summary>Whether the gate is still closed on every event thread.</summary>
        public bool StillBlocked => !_gate.IsSet && _held.Count == _eventThreads;

        public static async Task<EventThreadBlocker> BlockAllAsync()
        {
            var blocker = new EventThreadBlocker();
            for (var i = 0; i < 4 * Environment.ProcessorCount; i++)
            {
                var (client, server) = SocketEventThread.ConnectedPair();
                blocker._sockets.Add(client);
                blocker._sockets.Add(server);
                var receive = new SocketAsyncEventArgs();
                receive.SetBuffer(new byte[1], 0, 1);
                receive.Completed += (_, _) => blocker.Hold();
                Assert.True(server.ReceiveAsync(receive), "the receive waits for data");
            }

            blocker._eventThreads = EventThreadCount();
            foreach (var client in blocker._sockets.Where((_, i) => i % 2 == 0))
            {
                client.Send([1]);
            }

            await TestSupport.Eventually.TrueAsync(() => blocker._held.Count >= blocker._eventThreads, TimeSpan.FromSeconds(10),
                () => $"{blocker._held.Count} of {blocker._eventThreads} event threads held");
            return blocker;
        }

        public void Dispose()
        {
            _gate.Set();
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        private void Hold()
        {
            if (SocketEventThreads.IsCurrent)
            {
                _held[Environment.CurrentManagedThreadId] = true;
                _gate.Wait();
            }
        }

        private static int EventThreadCount() =>
            Directory.GetDirectories("/proc/self/task").Count(task => File.ReadAllText(Path.Combine(task, "comm")).Trim() == SocketEventThread.Name);
    }
}
