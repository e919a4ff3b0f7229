namespace TradeStore.Storage.Tests;

/// <summary>
/// The advice <see cref="DatabaseOpenException"/> gives for DuckDB's own words, as DuckDB 1.5.6 said them in session 37's
/// audit of a hostile environment.
/// </summary>
public sealed class DatabaseOpenAdviceTests
{
    /// <summary>
    /// <c>serve</c> under <c>prlimit --as=4G</c> with 1,000,000 trades: the operating system refused DuckDB's allocation,
    /// well below Storage:DuckDbMemoryLimit (2GB), and the advice was to raise that limit.
    /// </summary>
    [Fact]
    public void OutOfMemory_TheOperatingSystemRefused_SaysTheProcessLimitNotDuckDbMemoryLimit()
    {
        const string said = "Out of Memory Error: Failed to allocate block of 262144 bytes (bad allocation)\n\nPossible solutions:\n" +
            "* Reducing the number of threads (SET threads=X)\n* Increasing the memory limit (SET memory_limit='...GB')";

        var refused = new DatabaseOpenException("/srv/data/tradestore.duckdb", said, new IOException(said));

        Assert.Contains("address-space limit", refused.Advice, StringComparison.Ordinal);
        Assert.Contains("do not recover it", refused.Advice, StringComparison.Ordinal);
        Assert.DoesNotContain("raise Storage:DuckDbMemoryLimit", refused.Advice, StringComparison.Ordinal);
    }

    /// <summary>DuckDB's own limit reached (Storage:DuckDbMemoryLimit=64MB with 1,000,000 trades): raising it is the answer.</summary>
    [Fact]
    public void OutOfMemory_DuckDbsOwnLimit_SaysRaiseDuckDbMemoryLimit()
    {
        const string said = "Out of Memory Error: failed to offload data block of size 64.0 KiB (0 bytes/0 bytes used).";

        var refused = new DatabaseOpenException("/srv/data/tradestore.duckdb", said, new IOException(said));

        Assert.Contains("raise Storage:DuckDbMemoryLimit", refused.Advice, StringComparison.Ordinal);
    }

    /// <summary>A directory marked immutable (chattr +i): EPERM, which got the advice to rebuild the database.</summary>
    [Fact]
    public void OperationNotPermitted_SaysLiftTheAttributeNotRecover()
    {
        const string said = "TransactionContext Error: Failed to commit: Cannot open file \"/srv/data/tradestore.duckdb.wal\": Operation not permitted";

        var refused = new DatabaseOpenException("/srv/data/tradestore.duckdb", said, new IOException(said));

        Assert.Contains("chattr -i", refused.Advice, StringComparison.Ordinal);
        Assert.DoesNotContain("recover --from", refused.Advice, StringComparison.Ordinal);
    }
}
