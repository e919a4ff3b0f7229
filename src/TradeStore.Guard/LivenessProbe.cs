using System.Diagnostics;
using System.Net.Sockets;

namespace TradeStore.Guard;

/// <summary>One <c>GET /health/live</c> with a timeout; anything but a 2xx answer in time is a failure.</summary>
public sealed class LivenessProbe : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _url;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;

    public LivenessProbe(Uri url, TimeSpan timeout, TimeProvider time)
    {
        _url = url;
        _timeout = timeout;
        _time = time;
        _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = timeout, AllowAutoRedirect = false, UseProxy = false })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public async Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken)
    {
        var at = _time.GetUtcNow();
        var started = Stopwatch.GetTimestamp();
        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            // By design a fresh connection each time: a kept-alive socket to a dead child would fail the next probe for the new one.
            using var request = new HttpRequestMessage(HttpMethod.Get, _url) { Headers = { ConnectionClose = true } };
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var ok = response.IsSuccessStatusCode;
            return new ProbeResult(at, ok, $"HTTP {(int)response.StatusCode}", Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new ProbeResult(at, false, $"no answer within {Durations.Format(_timeout)}", Stopwatch.GetElapsedTime(started));
        }
        catch (HttpRequestException ex)
        {
            var detail = ex.InnerException is SocketException socket ? socket.SocketErrorCode.ToString() : ex.Message;
            return new ProbeResult(at, false, detail, Stopwatch.GetElapsedTime(started));
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>The outcome of one liveness probe.</summary>
public sealed record ProbeResult(DateTimeOffset At, bool Ok, string Detail, TimeSpan Duration);
