using Microsoft.Extensions.Logging.Abstractions;

namespace TradeStore.Cluster.Tests;

/// <summary>One cluster member in this process: the real coordinator on a real etcd, with the node's applied seq settable.</summary>
internal sealed class ClusterNode : IAsyncDisposable
{
    private long _appliedSeq;
    private bool _stopped;
    private volatile ManualResetEventSlim? _appliedSeqGate;

    /// <param name="leaseTtl">
    /// Default 5 s. It was 2 s: a leader then lost its lease (and the test its leader and term) when its renewals, due every
    /// 0.67 s, were held 1.3 s, which a loaded CI machine's thread pool can do; 5 s gives 3.3 s. The tests that wait for a
    /// lease to run out wait with a bound of 20 s or more.
    /// </param>
    /// <param name="veto">Why the node may not lead, asked before each campaign (as the server's storage veto is); none by default.</param>
    /// <param name="logger">Where the coordinator logs; none by default.</param>
    public ClusterNode(string name, string etcd, string keyPrefix, TimeSpan? leaseTtl = null, ILeadershipVeto? veto = null,
        Microsoft.Extensions.Logging.ILogger<ClusterCoordinator>? logger = null)
    {
        Options = new ClusterOptions
        {
            Etcd = etcd,
            Node = name,
            AdvertiseUrl = $"http://{name}.test:5080",
            KeyPrefix = keyPrefix,
            LeaseTtl = leaseTtl ?? TimeSpan.FromSeconds(5),
        };
        Clock = new LeaseClock(TimeProvider.System, Options.FenceMargin);
        State = new ClusterState(Options, Clock);
        Store = new EtcdClusterStore(Options);
        Metrics = new ClusterMetrics(_meters.Factory, State, () => Store.EtcdConnections);
        Coordinator = new ClusterCoordinator(Microsoft.Extensions.Options.Options.Create(Options), State, Store, new AppliedSeq(ReadAppliedSeq),
            Metrics, logger ?? NullLogger<ClusterCoordinator>.Instance, veto: veto);
    }

    private readonly TradeStore.TestSupport.TestMeters _meters = new();

    public ClusterOptions Options { get; }

    public ClusterMetrics Metrics { get; }

    public LeaseClock Clock { get; }

    public ClusterState State { get; }

    public EtcdClusterStore Store { get; }

    public ClusterCoordinator Coordinator { get; }

    public string Name => Options.Node!;

    public long AppliedSeq
    {
        set => Interlocked.Exchange(ref _appliedSeq, value);
    }

    /// <summary>
    /// Until the result is disposed, every read of this node's applied seq by the coordinator blocks: it stands in for
    /// an etcd write of the registry that hangs, on whatever loop the coordinator reads the seq.
    /// </summary>
    public IDisposable StallAppliedSeqReads()
    {
        var gate = new ManualResetEventSlim(false);
        _appliedSeqGate = gate;
        return new Release(() =>
        {
            _appliedSeqGate = null;
            gate.Set();
        });
    }

    private long ReadAppliedSeq()
    {
        _appliedSeqGate?.Wait();
        return Interlocked.Read(ref _appliedSeq);
    }

    private sealed class Release(Action release) : IDisposable
    {
        public void Dispose() => release();
    }

    public async Task<ClusterNode> StartAsync()
    {
        await Coordinator.StartAsync(TestContext.Current.CancellationToken);
        return this;
    }

    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await Coordinator.StopAsync(CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Coordinator.Dispose();
        Store.Dispose();
        _meters.Dispose();
    }
}

/// <summary>Waits for a condition by polling it: for outcomes that take an election or a lease expiry.</summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Not within {timeout}: {what}");
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    public static async Task<T> MatchAsync<T>(Func<Task<T>> read, Func<T, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await read();
            if (condition(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Not within {timeout}: {what}; last seen {value}");
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
