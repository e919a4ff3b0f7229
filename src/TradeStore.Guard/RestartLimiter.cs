namespace TradeStore.Guard;

/// <summary>
/// Erlang's restart intensity: at most <c>maxRestarts</c> restarts within any <c>window</c>; the one beyond
/// that is refused, and the guard gives up so a service manager above it can escalate.
/// </summary>
public sealed class RestartLimiter(int maxRestarts, TimeSpan window, TimeProvider time)
{
    private readonly Queue<DateTimeOffset> _restarts = new();

    /// <summary>Restarts recorded within the window ending now.</summary>
    public int InWindow
    {
        get
        {
            Prune(time.GetUtcNow());
            return _restarts.Count;
        }
    }

    /// <summary>Records a restart now and returns true, or returns false when it would exceed the limit.</summary>
    public bool TryRecordRestart()
    {
        var now = time.GetUtcNow();
        Prune(now);
        if (_restarts.Count >= maxRestarts)
        {
            return false;
        }

        _restarts.Enqueue(now);
        return true;
    }

    private void Prune(DateTimeOffset now)
    {
        while (_restarts.Count > 0 && now - _restarts.Peek() >= window)
        {
            _restarts.Dequeue();
        }
    }
}
