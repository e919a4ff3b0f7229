using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TradeStore.Cluster;
using TradeStore.Core.Diagnostics;
using TradeStore.Core.Threading;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage;
using TradeStore.Storage.Engine;

namespace TradeStore.Server.Cluster;

/// <summary>
/// The follower's side of replication (issue #14): while another node leads, one stream from the leader's
/// <c>AdvertiseUrl</c> (<see cref="ReplicationEndpoints"/>) from this node's <c>LastSeq + 1</c>. Every record is checked
/// (CRC-32C, contiguous seq, a term never lower than the last record's nor higher than the leader's), the records of
/// each received chunk are appended unchanged to this node's journal log with one fsync and applied through the
/// <see cref="WriteEngine"/> exactly as the leader's own writes, and the new durable seq is acknowledged. Any break,
/// refusal or change of leader ends the stream; the next one resumes from the log's end, so nothing is skipped or
/// repeated. A log that diverges from the leader's stops the node (<see cref="DivergedExitCode"/>) rather than follow
/// a different history.
/// </summary>
public sealed class ReplicationFollower : BackgroundService
{
    /// <summary>
    /// The exit code of <c>tradestore serve</c> when this node's log holds records the leader does not: the tail to cut is
    /// recorded and cut at the next start (restart the node), or, when no common point can be found (the leader recycled
    /// it), the node must be re-seeded.
    /// </summary>
    public const int DivergedExitCode = 6;

    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);

    private readonly ClusterOptions _options;
    private readonly ClusterState _state;
    private readonly WriteEngine _engine;
    private readonly JournalLog _log;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<ReplicationFollower> _logger;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _changed = new(0, 1);
    private readonly ClusterMetrics? _metrics;
    private readonly StorageWriteHealth? _writeHealth;
    private long _highestTerm;

    /// <summary>
    /// Paces the log of a stream that breaks or is refused again and again (a leader that is gone but still holds its lease,
    /// a leader that cannot reach etcd): the first failure is logged (1313 or 1316), repeats at the 2nd, 4th, 8th, … and then
    /// once a minute (1322), and the next stream says how long it took (1323). Until 2026-12-05 each retry was a line: 5 a
    /// second for a leader killed until its lease ran out, one a second at error level for as long as etcd was away.
    /// </summary>
    private readonly RepeatPacer _streamFailures;

    public ReplicationFollower(ClusterOptions options, ClusterState state, WriteEngine engine, JournalLog log, IHostApplicationLifetime lifetime,
        ILogger<ReplicationFollower> logger, TimeProvider? time = null, ClusterMetrics? metrics = null, DuckDbDatabase? database = null)
    {
        _writeHealth = database?.WriteHealth;
        _options = options;
        _state = state;
        _engine = engine;
        _log = log;
        _lifetime = lifetime;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _streamFailures = new RepeatPacer(_time);
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(2), PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _metrics = metrics;
        if (options.ReplicationKey is { Length: > 0 } key)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
    }

    /// <summary>The exit code the node should stop with, when replication stopped it; otherwise <see langword="null"/>.</summary>
    public int? ExitCode { get; private set; }

    public override void Dispose()
    {
        _http.Dispose();
        _changed.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        _highestTerm = _log.LastTerm;
        _state.Changed += OnChanged;
        try
        {
            while (!stoppingToken.IsCancellationRequested && ExitCode is null)
            {
                if (_state.RedirectTarget is { } leader && leader.Term >= _highestTerm)
                {
                    await FollowAsync(leader, stoppingToken);
                }
                else
                {
                    if (_state.RedirectTarget is { } older && older.Term != _refusedTerm)
                    {
                        _refusedTerm = older.Term;
                        Log.LeaderTermBelowLog(_logger, older.Name, older.Term, _highestTerm);
                    }

                    await WaitForChangeAsync(TimeSpan.FromMilliseconds(250), stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
        finally
        {
            _state.Changed -= OnChanged;
        }
    }

    /// <summary>The term of the last leader refused for a term below this log's (event 1320 once per term).</summary>
    private long _refusedTerm;

    private async Task FollowAsync(LeaderInfo leader, CancellationToken stoppingToken)
    {
        using var stream = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        void Watch()
        {
            if (_state.RedirectTarget is not { } now || now.Term != leader.Term || now.Name != leader.Name)
            {
                stream.Cancel();
            }
        }

        _state.Changed += Watch;
        var acks = new AckSender(this, leader);
        _engine.UseApplyInterval(_options.FollowerApplyInterval);
        try
        {
            Watch();
            var ackLoop = acks.RunAsync(stream.Token);
            try
            {
                await StreamAsync(leader, acks, stream.Token);
            }
            finally
            {
                await stream.CancelAsync();
                await ackLoop;
            }
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is HttpRequestException or IOException or OperationCanceledException or TimeoutException or InvalidOperationException or ArgumentException)
        {
            if (ExitCode is null && _state.RedirectTarget?.Term == leader.Term)
            {
                if (_streamFailures.Record() is { Log: true } failure)
                {
                    if (failure.First)
                    {
                        Log.StreamBroken(_logger, leader.Name, _engine.LastSeq, ex.Message, _engine.LastSeq + 1);
                    }
                    else
                    {
                        Log.StreamStillFailing(_logger, leader.Name, failure.Count, failure.Lasting, ex.Message, _engine.LastSeq + 1);
                    }
                }

                await Task.Delay(RetryDelay, _time, stoppingToken);
            }
        }
        finally
        {
            _state.Changed -= Watch;
            // Back to Engine:ApplyInterval: the stream ended because the leader changed, and this node may be the new one.
            _engine.UseApplyInterval(null);
        }
    }

    private async Task StreamAsync(LeaderInfo leader, AckSender acks, CancellationToken cancellationToken)
    {
        var prevSeq = _engine.LastSeq;
        var prevTerm = _log.LastTerm;
        var open = new ReplicationStreamRequest(_state.NodeName, leader.Term, prevSeq + 1, prevSeq, prevTerm, _state.Incarnation.Id);
        using var request = new HttpRequestMessage(HttpMethod.Post, leader.Url + ReplicationEndpoints.StreamPath)
        {
            Content = JsonContent.Create(open, ReplicationJson.Default.ReplicationStreamRequest),
        };
        using var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        connect.CancelAfter(ReplicationFrames.DeadAfter);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, connect.Token);
        if (response.StatusCode == HttpStatusCode.Conflict && response.Headers.TryGetValues(ReplicationFrames.LeaderLastSeqHeader, out var values)
            && long.TryParse(values.First(), NumberStyles.None, CultureInfo.InvariantCulture, out var leaderLast))
        {
            var detail = ProblemDetail(await response.Content.ReadAsStringAsync(cancellationToken));
            var leaderRuns = response.Headers.TryGetValues(ReplicationFrames.LeaderTermsHeader, out var terms) ? TermRun.Parse(terms.First()) : null;
            ExitCode = DivergedExitCode;
            var keep = leaderRuns is null ? -1 : TermRun.MatchPoint(_log.TermRuns, _log.LastSeq, leaderRuns, leaderLast);
            if (keep >= _log.FirstSeq - 1 && keep < prevSeq)
            {
                // Cut at the next start, before anything reads the database (TailTruncation); the guard or the operator restarts.
                TailTruncation.Request(_log, keep);
                Log.TailToCut(_logger, leader.Name, detail, keep + 1, prevSeq, DivergedExitCode);
            }
            else
            {
                Log.LogDiverged(_logger, leader.Name, detail, Math.Max(1, keep + 1), prevSeq, DivergedExitCode);
            }

            _lifetime.StopApplication();
            return;
        }

        if (response.StatusCode != HttpStatusCode.OK)
        {
            var detail = ProblemDetail(await response.Content.ReadAsStringAsync(cancellationToken));
            if (_streamFailures.Record() is { Log: true } failure)
            {
                if (failure.First)
                {
                    Log.StreamRefused(_logger, leader.Name, (int)response.StatusCode, detail);
                }
                else
                {
                    Log.StreamStillFailing(_logger, leader.Name, failure.Count, failure.Lasting, $"refused: {(int)response.StatusCode} {detail}", _engine.LastSeq + 1);
                }
            }

            await Task.Delay(RetryDelay * 5, _time, cancellationToken);
            return;
        }

        _highestTerm = Math.Max(_highestTerm, leader.Term);
        Log.FollowingStream(_logger, leader.Name, leader.Url, leader.Term, open.FromSeq);
        if (_streamFailures.End() is { } failed)
        {
            Log.StreamOpenAgain(_logger, leader.Name, failed.Count, failed.Lasted);
        }

        // The leader checked that this log's last record is in its own: what this node holds counts from now on.
        acks.Accepted(prevSeq);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[1 << 20];
        var filled = 0;
        var records = new List<LogRecord>();
        while (true)
        {
            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }

            using var read = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            read.CancelAfter(ReplicationFrames.DeadAfter);
            var n = await body.ReadAsync(buffer.AsMemory(filled), read.Token);
            if (n == 0)
            {
                throw new IOException("the leader ended the stream");
            }

            filled += n;
            var arrived = _time.GetTimestamp();
            var consumed = 0;
            records.Clear();
            while (true)
            {
                var kind = ReplicationFrames.TryRead(buffer.AsSpan(consumed, filled - consumed), out var record, out var heartbeatTerm, out var size);
                if (kind == FrameKind.Incomplete)
                {
                    break;
                }

                if (kind == FrameKind.Damaged)
                {
                    Log.RecordRefused(_logger, leader.Name, $"the frame after seq {(records.Count > 0 ? records[^1].Seq : _engine.LastSeq)} does not match its checksum");
                    throw new InvalidOperationException("a damaged record arrived");
                }

                consumed += size;
                if (kind == FrameKind.Heartbeat)
                {
                    if (heartbeatTerm != leader.Term)
                    {
                        throw new InvalidOperationException($"a heartbeat of term {heartbeatTerm} arrived on a stream of term {leader.Term}");
                    }

                    continue;
                }

                var previousTerm = records.Count > 0 ? records[^1].Term : _log.LastTerm;
                if (record!.Term < previousTerm || record.Term > leader.Term)
                {
                    var reason = record.Term < previousTerm
                        ? $"seq {record.Seq} has term {record.Term}, older than term {previousTerm} of the record before it"
                        : $"seq {record.Seq} has term {record.Term}, newer than the leader's term {leader.Term}";
                    Log.RecordRefused(_logger, leader.Name, reason);
                    throw new InvalidOperationException(reason);
                }

                records.Add(record);
            }

            if (consumed > 0)
            {
                buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                filled -= consumed;
            }

            if (records.Count > 0)
            {
                // One append and one fsync for what arrived together; then the same apply path as the leader's writes.
                await AppendAsync(records);
                acks.Durable(records[^1].Seq);
                _metrics?.FollowerChunkDurable(_time.GetElapsedTime(arrived));
            }
        }
    }

    /// <summary>
    /// Appends and fsyncs what arrived, reporting the outcome to <see cref="StorageWriteHealth"/> as the leader's commits do:
    /// a follower whose disk refuses the leader's records (full, an I/O error) is unhealthy in readiness with the cause,
    /// and does not campaign (<see cref="StorageLeadershipVeto"/>), until an append or readiness's probe succeeds. It used to
    /// stay healthy while its stream broke on every chunk and it fell behind.
    /// </summary>
    private async Task AppendAsync(List<LogRecord> records)
    {
        try
        {
            await _engine.AppendReplicatedAsync([.. records]);
        }
        catch (IOException ex)
        {
            _writeHealth?.CommitFailed(_logger, ex, 0, records.Count, records[0].Seq, records[^1].Seq);
            throw;
        }

        _writeHealth?.CommitSucceeded(_logger);
    }

    private static string ProblemDetail(string body)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("detail", out var detail) ? detail.GetString() ?? body : body;
        }
        catch (System.Text.Json.JsonException)
        {
            return body;
        }
    }

    private void OnChanged()
    {
        if (_changed.CurrentCount == 0)
        {
            try
            {
                _changed.Release();
            }
            catch (SemaphoreFullException)
            {
                // already signalled
            }
            catch (ObjectDisposedException)
            {
                // stopped
            }
        }
    }

    private async Task WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await _changed.WaitAsync(timeout, cancellationToken);
        }
        catch (ObjectDisposedException)
        {
            await Task.Delay(timeout, _time, cancellationToken);
        }
    }

    /// <summary>
    /// Sends the latest durable seq to the leader on one long-lived request (<see cref="AckFrames"/>), coalescing: what
    /// became durable while a write was in flight goes in the next one. A request that ended is opened again and starts
    /// with the latest seq, so nothing acknowledged is skipped.
    /// <list type="bullet">
    /// <item>Opened only once the leader accepted the stream (<see cref="Accepted"/>): it then leads the stream's term (an
    /// earlier request could find it still setting the term up and be refused as stale), and it checked that this log's
    /// last record is in its log, so the first frame acknowledges what this node already holds and a caught-up follower
    /// joins the sync set before the term's first write.</item>
    /// <item>The request line and headers are sent at once, and the durable seq is sent again every
    /// <see cref="ReplicationFrames.HeartbeatInterval"/> while it did not grow (the leader counts a repeat as no progress,
    /// <see cref="ReplicationHub.Acknowledge"/>). On HTTP/1.1 .NET reads the answer only once the body ended, and a frame
    /// written into a connection the leader closed is taken by the local kernel and lost without an error: a request the
    /// leader ended (answered early, or a connection its Kestrel closed as silent after the 130 s keep-alive timeout,
    /// which once cost the lone first write of a quiet new term its acknowledgement) is noticed when the repeat after
    /// that fails, and opened again with the latest seq.</item>
    /// <item>Each request's body waits on its own signal (<see cref="AckContent"/>): a durable seq never wakes the body of
    /// a request that already ended.</item>
    /// </list>
    /// </summary>
    private sealed class AckSender(ReplicationFollower owner, LeaderInfo leader)
    {
        private readonly TaskCompletionSource _accepted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _durable = -1;
        private AckContent? _current;

        /// <summary>The leader accepted the stream of a log that holds every record up to <paramref name="durableSeq"/>: the requests may start.</summary>
        public void Accepted(long durableSeq)
        {
            Durable(durableSeq);
            _accepted.TrySetResult();
        }

        /// <summary>The journal log holds every record up to <paramref name="seq"/>, fsynced.</summary>
        public void Durable(long seq)
        {
            InterlockedMax.Raise(ref _durable, seq);
            Volatile.Read(ref _current)?.Wake();
        }

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            try
            {
                await _accepted.Task.WaitAsync(cancellationToken);
                while (!cancellationToken.IsCancellationRequested)
                {
                    var content = new AckContent(this);
                    Volatile.Write(ref _current, content);
                    try
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Post, leader.Url + AckFrames.Path(owner._state.NodeName, owner._state.Incarnation.Id, leader.Term))
                        {
                            Content = content,
                        };
                        using var response = await owner._http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                        if (!response.IsSuccessStatusCode)
                        {
                            // stale term or a stopping leader: the stream notices the change of leader
                            await Task.Delay(RetryDelay, owner._time, cancellationToken);
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or IOException)
                    {
                        // a dead leader (the stream notices it), or a request it ended: the next one starts with the latest seq
                        await Task.Delay(RetryDelay, owner._time, cancellationToken);
                    }
                    finally
                    {
                        Interlocked.CompareExchange(ref _current, null, content);
                        content.Dispose();
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // the stream ended
            }
        }

        /// <summary>
        /// The request body: the durable seq each time it grew, flushed at once, and again after each
        /// <see cref="ReplicationFrames.HeartbeatInterval"/> without growth; it ends when the request is cancelled or a
        /// write fails.
        /// </summary>
        private sealed class AckContent : HttpContent
        {
            private readonly AckSender _sender;
            private readonly SemaphoreSlim _signal = new(0, 1);

            public AckContent(AckSender sender)
            {
                _sender = sender;
                Headers.ContentType = new MediaTypeHeaderValue(AckFrames.ContentType);
            }

            /// <summary>Wakes the body to send what became durable.</summary>
            public void Wake()
            {
                try
                {
                    if (_signal.CurrentCount == 0)
                    {
                        _signal.Release();
                    }
                }
                catch (Exception ex) when (ex is SemaphoreFullException or ObjectDisposedException)
                {
                    // already signalled, or the request ended (the next one starts with the latest seq)
                }
            }

            protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
                SerializeToStreamAsync(stream, context, CancellationToken.None);

            protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken)
            {
                // The request line and headers go now, not with the first frame: a connection that stays silent longer
                // than the leader's Kestrel keep-alive timeout (130 s) is closed by it, and the first frame would then be
                // written into a closed connection and lost.
                await stream.FlushAsync(cancellationToken);
                var frame = new byte[AckFrames.Size];
                var sent = -1L;
                var idle = false;
                while (true)
                {
                    // From the first frame on, 0 included: a follower of an empty log can acknowledge the term's writes too.
                    var durable = Interlocked.Read(ref _sender._durable);
                    if (durable > sent || (idle && durable >= 0))
                    {
                        BinaryPrimitives.WriteInt64LittleEndian(frame, durable);
                        await stream.WriteAsync(frame, cancellationToken);
                        await stream.FlushAsync(cancellationToken);
                        sent = durable;
                    }

                    idle = !await _signal.WaitAsync(ReplicationFrames.HeartbeatInterval, cancellationToken);
                }
            }

            // By design no length: the body is chunked and ends only with the request.
            protected override bool TryComputeLength(out long length)
            {
                length = 0;
                return false;
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    _signal.Dispose();
                }

                base.Dispose(disposing);
            }
        }
    }
}
