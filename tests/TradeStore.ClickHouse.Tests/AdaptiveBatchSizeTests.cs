using TradeStore.ClickHouse.Sync;

namespace TradeStore.ClickHouse.Tests;

public sealed class AdaptiveBatchSizeTests
{
    [Fact]
    public void OnSent_FullBatches_DoublesUpToMax()
    {
        var batch = new AdaptiveBatchSize(100, 1_000);

        var sizes = new List<int>();
        for (var i = 0; i < 6; i++)
        {
            batch.OnSent(batch.Size);
            sizes.Add(batch.Size);
        }

        Assert.Equal([200, 400, 800, 1_000, 1_000, 1_000], sizes);
    }

    [Fact]
    public void OnFailure_Repeated_HalvesDownToMin()
    {
        var batch = new AdaptiveBatchSize(100, 1_000);
        batch.OnSent(100);
        batch.OnSent(200);

        batch.OnFailure();
        Assert.Equal(200, batch.Size);
        batch.OnFailure();
        batch.OnFailure();
        Assert.Equal(100, batch.Size);
    }

    [Fact]
    public void OnSent_SmallBatchesWhileBig_DecaysTowardMin()
    {
        var batch = new AdaptiveBatchSize(100, 10_000);
        for (var i = 0; i < 5; i++)
        {
            batch.OnSent(batch.Size);
        }

        Assert.Equal(3_200, batch.Size);
        batch.OnSent(10);
        Assert.Equal(1_600, batch.Size);
        batch.OnSent(1_000); // at least a quarter: kept
        Assert.Equal(1_600, batch.Size);
    }
}
