namespace TradeStore.ClickHouse.Sync;

/// <summary>
/// How many journal events the next INSERT may carry: doubles while batches come back full (the sync is behind),
/// halves after a failure (a smaller INSERT is likelier to get through a struggling server) and decays when
/// batches are small, always within [min, max].
/// </summary>
internal sealed class AdaptiveBatchSize
{
    private readonly int _min;
    private readonly int _max;

    public AdaptiveBatchSize(int min, int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(min);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, min);
        _min = min;
        _max = max;
        Size = min;
    }

    public int Size { get; private set; }

    /// <summary>A batch of <paramref name="count"/> events was sent.</summary>
    public void OnSent(int count)
    {
        if (count >= Size)
        {
            Size = (int)Math.Min(_max, (long)Size * 2);
        }
        else if (count < Size / 4)
        {
            Size = Math.Max(_min, Size / 2);
        }
    }

    public void OnFailure() => Size = Math.Max(_min, Size / 2);
}
