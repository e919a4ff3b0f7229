using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using TradeStore.Core.Diagnostics;
using TradeStore.Core.Lifetime;

namespace TradeStore.Guard;

/// <summary>
/// One <c>GET /health/live</c> with a timeout; anything but a 2xx answer in time from the child itself is a failure. The
/// child proves it answered by naming its pid in <see cref="GuardEnvironment.PidHeader"/>, which <c>serve</c> does only
/// for a request carrying <see cref="Token"/>, the secret the guard gave it.
/// </summary>
public sealed class LivenessProbe : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _url;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;

    public LivenessProbe(Uri url, TimeSpan timeout, TimeProvider time, string token)
    {
        _url = url;
        Token = token;
        _timeout = timeout;
        _time = time;
        var handler = new SocketsHttpHandler { ConnectTimeout = timeout, AllowAutoRedirect = false, UseProxy = false };
        if (url.Scheme == Uri.UriSchemeHttps && url.IsLoopback)
        {
            // By design the child's certificate is not checked on loopback: it names the service (tradestore.example.com) or
            // an internal CA, never 127.0.0.1, so every probe failed and the guard restarted a healthy https child as hung.
            // The answer proves itself the child's by its pid (the probe's secret), as over http.
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }

        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The secret the children get in <see cref="GuardEnvironment.ProbeTokenVariable"/> and the probe sends.</summary>
    public string Token { get; }

    /// <summary>Probes once; <paramref name="childPid"/> is the pid the answer must name.</summary>
    public async Task<ProbeResult> ProbeAsync(int childPid, CancellationToken cancellationToken)
    {
        var at = _time.GetUtcNow();
        var started = Stopwatch.GetTimestamp();
        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            // By design a fresh connection each time: a kept-alive socket to a dead child would fail the next probe for the new one.
            using var request = new HttpRequestMessage(HttpMethod.Get, _url) { Headers = { ConnectionClose = true } };
            request.Headers.Add(GuardEnvironment.ProbeHeader, Token);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var status = $"HTTP {(int)response.StatusCode}";
            if (!response.IsSuccessStatusCode)
            {
                return new ProbeResult(at, false, status, Stopwatch.GetElapsedTime(started));
            }

            var answeredBy = AnsweringPid(response);
            return answeredBy == childPid
                ? new ProbeResult(at, true, status, Stopwatch.GetElapsedTime(started))
                : new ProbeResult(at, false, NotTheChild(status, answeredBy, childPid), Stopwatch.GetElapsedTime(started));
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

    private static int? AnsweringPid(HttpResponseMessage response) =>
        response.Headers.TryGetValues(GuardEnvironment.PidHeader, out var values)
        && int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            ? pid
            : null;

    private static string NotTheChild(string status, int? answeredBy, int childPid) => answeredBy is { } other
        ? $"{status} from pid {other}, not from the child (pid {childPid})"
        : $"{status}, but not from the child (pid {childPid}): another process answers on this port";
}

/// <summary>The outcome of one liveness probe.</summary>
public sealed record ProbeResult(DateTimeOffset At, bool Ok, string Detail, TimeSpan Duration);
