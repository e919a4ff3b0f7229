using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// What the position book holds beside the positions themselves. Each account kept a concurrent dictionary of its
/// positions and an immutable sorted tree of its symbols: 2.6 KB for an account of 20 symbols (the buckets and locks of
/// the dictionary, a 48-byte node in each structure per symbol), 26 MB for 10,000 such accounts, the book of
/// <c>tradestore-bench index</c> at 1,000,000 trades in 10,000 accounts × 20 symbols. An account now holds its positions
/// in a sorted run (an array): 320 bytes per account.
/// </summary>
[Collection(nameof(MemoryMeasuredAlone))]
public sealed class PositionBookMemoryTests
{
    private const int Accounts = 5_000;
    private const int Symbols = 20;

    [Fact]
    public void ABookOfManyAccounts_HoldsLittleBesideItsPositions()
    {
        var positions = (from a in Enumerable.Range(0, Accounts)
                         from s in Enumerable.Range(0, Symbols)
                         select new Position($"ACC{a:D5}", $"SYM{s:D2}", 1, 1, 0, 0)).ToList();
        var held = HeldMemory.Of(() =>
        {
            var book = new PositionBook();
            book.Load(positions);
            return book;
        }, out var book);
        Assert.Equal(Accounts * Symbols, book.Get(null).Count);
        GC.KeepAlive(positions);

        // About 320 bytes per account now (the account, its run, its array of 20 and its dictionary entry); 2.6 KB before.
        Assert.True(held < Accounts * 800L, $"{Accounts:N0} accounts of {Symbols} positions held {held:N0} bytes beside their positions ({held / Accounts:N0} per account).");
    }
}

/// <summary>Tests that measure the process's managed memory run one at a time.</summary>
[CollectionDefinition(nameof(MemoryMeasuredAlone), DisableParallelization = true)]
public sealed class MemoryMeasuredAlone;
