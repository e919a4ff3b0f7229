using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;

namespace TradeStore.Storage.Tests;

/// <summary>
/// The position book's sorted snapshots of accounts and of each account's symbols, in a book of many accounts: a new
/// account (or symbol) must cost the writer about the same at 20,000 as at 10, and reads stay in (account, symbol) order.
/// </summary>
public sealed class PositionBookTests
{
    private const int Existing = 20_000;
    private const int Added = 2_000;

    /// <summary>
    /// The snapshots were sorted arrays copied whole for each new name: at 20,000 accounts every new account allocated a
    /// 160 KB array on the writer's thread (on the large object heap, each one bringing a full collection nearer), so
    /// 20,000 trades of new accounts took 85 s where 20,000 of known accounts took 3 s (2,000 new accounts: 340 MB). A
    /// new account now costs about 3.2 KB (its account, run and position, a copy of the accounts' overflow and, amortised,
    /// of their array: <see cref="SortedRun{T, TName}"/>); the bound is 10 KB. As a sorted tree it cost about 2.8 KB.
    /// </summary>
    [Fact]
    public void NewAccounts_InABookOfManyAccounts_CostTheWriterLittle_AndReadInOrder()
    {
        var book = new PositionBook();
        for (var i = 0; i < Existing; i++)
        {
            book.Move(Trade($"ACC{i * 2:D6}", "SYM"), 1, 1);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Added; i++)
        {
            // Between the existing names (odd numbers), so each lands in the middle of the order.
            book.Move(Trade($"ACC{(i * 20) + 1:D6}", "SYM"), 1, 1);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < Added * 10_000L, $"{Added:N0} new accounts among {Existing:N0} allocated {allocated:N0} bytes on the writer's thread.");

        var accounts = book.Get(null).Select(p => p.Account).ToList();
        Assert.Equal(Existing + Added, accounts.Count);
        Assert.Equal(accounts.Order(StringComparer.Ordinal), accounts);
    }

    /// <summary>The same for one account trading many symbols: its symbols' snapshot.</summary>
    [Fact]
    public void NewSymbols_OfAnAccountWithManySymbols_CostTheWriterLittle_AndReadInOrder()
    {
        var book = new PositionBook();
        for (var i = 0; i < Existing; i++)
        {
            book.Move(Trade("ACC", $"SYM{i * 2:D6}"), 1, 1);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Added; i++)
        {
            book.Move(Trade("ACC", $"SYM{(i * 20) + 1:D6}"), 1, 1);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < Added * 10_000L, $"{Added:N0} new symbols among {Existing:N0} allocated {allocated:N0} bytes on the writer's thread.");

        var symbols = book.Get("ACC").Select(p => p.Symbol).ToList();
        Assert.Equal(Existing + Added, symbols.Count);
        Assert.Equal(symbols.Order(StringComparer.Ordinal), symbols);
        Assert.Equal(symbols, book.Get(null).Select(p => p.Symbol));
    }

    /// <summary>A book loaded at start-up grows in order from there.</summary>
    [Fact]
    public void LoadedBook_GrowsInOrder()
    {
        var book = new PositionBook();
        book.Load([new Position("B", "Y", 1, 1, 0, 0), new Position("B", "W", 1, 1, 0, 0), new Position("D", "X", 0, 0, 1, 1)]);
        book.Move(Trade("C", "Z"), 1, 1);
        book.Move(Trade("A", "Z"), 1, 1);
        book.Move(Trade("B", "X"), 1, 1);

        Assert.Equal(["A/Z", "B/W", "B/X", "B/Y", "C/Z", "D/X"], book.Get(null).Select(p => $"{p.Account}/{p.Symbol}"));
        Assert.Equal(["B/W", "B/X", "B/Y"], book.Get("B").Select(p => $"{p.Account}/{p.Symbol}"));
        Assert.Empty(book.Get("E"));
    }

    /// <summary>
    /// Accounts added in random order are read in order, each once, whichever of them still wait in the run's overflow
    /// and whichever were merged into its array; a fill of a known (account, symbol) moves the position in place.
    /// </summary>
    [Fact]
    public void NewAccounts_InAnyOrder_ReadInOrderAcrossMerges_AndFillsMoveTheirPositions()
    {
        var random = new Random(38);
        var accounts = Enumerable.Range(0, 5_000).Select(i => $"ACC{i:D5}").OrderBy(_ => random.Next()).ToList();
        var book = new PositionBook();
        var added = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var account in accounts)
        {
            book.Move(Trade(account, "SYM"), 1, 1);
            added.Add(account);
            if (added.Count % 61 == 0)
            {
                Assert.Equal(added, book.Get(null).Select(p => p.Account));
            }
        }

        foreach (var account in accounts)
        {
            book.Move(Trade(account, "SYM"), 2, 3);
            book.Move(Trade(account, "ANOTHER"), 1, 1);
        }

        var positions = book.Get(null);
        Assert.Equal(added.SelectMany(a => new[] { $"{a}/ANOTHER", $"{a}/SYM" }), positions.Select(p => $"{p.Account}/{p.Symbol}"));
        Assert.All(positions.Where(p => p.Symbol == "SYM"), p => Assert.Equal((3m, 4m), (p.BoughtQuantity, p.BoughtNotional)));
        Assert.Equal([new Position("ACC00042", "ANOTHER", 1, 1, 0, 0), new Position("ACC00042", "SYM", 3, 4, 0, 0)], book.Get("ACC00042"));
    }

    /// <summary>
    /// A read of every position while the writer adds accounts (in random order, so most land between others) lists every
    /// account added before the read began, in order, none twice, and no position of an account half added.
    /// </summary>
    [Fact]
    public async Task ReadsWhileAccountsAreAdded_SeeEveryEarlierAccount_InOrder_Once()
    {
        var random = new Random(5);
        var accounts = Enumerable.Range(0, 20_000).Select(i => $"ACC{i:D6}").OrderBy(_ => random.Next()).ToArray();
        var book = new PositionBook();
        var added = 0;
        using var readersStarted = new CountdownEvent(2);
        var writer = Task.Run(() =>
        {
            readersStarted.Wait(TestContext.Current.CancellationToken);
            foreach (var account in accounts)
            {
                book.Move(Trade(account, "SYM"), 1, 1);
                Interlocked.Increment(ref added);
            }
        }, TestContext.Current.CancellationToken);

        var reads = await Task.WhenAll(Reader(), Reader());
        await writer;
        Assert.Equal(accounts.Order(StringComparer.Ordinal), book.Get(null).Select(p => p.Account));
        Assert.All(reads, count => Assert.True(count > 0));

        Task<int> Reader() => Task.Run(() =>
        {
            readersStarted.Signal();
            var count = 0;
            do
            {
                var before = Volatile.Read(ref added);
                var read = book.Get(null);
                for (var i = 1; i < read.Count; i++)
                {
                    Assert.True(string.CompareOrdinal(read[i - 1].Account, read[i].Account) < 0, $"{read[i - 1].Account} before {read[i].Account}");
                }

                Assert.All(read, p => Assert.Equal(1m, p.BoughtQuantity));
                var seen = read.Select(p => p.Account).ToHashSet(StringComparer.Ordinal);
                for (var i = 0; i < before; i++)
                {
                    Assert.True(seen.Contains(accounts[i]), $"{accounts[i]}, added before the read began, is missing from {read.Count:N0} positions read");
                }

                count++;
            }
            while (!writer.IsCompleted);
            return count;
        }, TestContext.Current.CancellationToken);
    }

    /// <summary>The same for one account gaining symbols while its positions are read.</summary>
    [Fact]
    public async Task ReadsWhileSymbolsAreAdded_SeeEveryEarlierSymbol_InOrder_Once()
    {
        var random = new Random(6);
        var symbols = Enumerable.Range(0, 20_000).Select(i => $"SYM{i:D6}").OrderBy(_ => random.Next()).ToArray();
        var book = new PositionBook();
        var added = 0;
        using var readerStarted = new ManualResetEventSlim();
        var writer = Task.Run(() =>
        {
            readerStarted.Wait(TestContext.Current.CancellationToken);
            foreach (var symbol in symbols)
            {
                book.Move(Trade("ACC", symbol), 1, 1);
                Interlocked.Increment(ref added);
            }
        }, TestContext.Current.CancellationToken);

        var reads = await Task.Run(() =>
        {
            readerStarted.Set();
            var count = 0;
            do
            {
                var before = Volatile.Read(ref added);
                var read = book.Get("ACC");
                for (var i = 1; i < read.Count; i++)
                {
                    Assert.True(string.CompareOrdinal(read[i - 1].Symbol, read[i].Symbol) < 0, $"{read[i - 1].Symbol} before {read[i].Symbol}");
                }

                var seen = read.Select(p => p.Symbol).ToHashSet(StringComparer.Ordinal);
                for (var i = 0; i < before; i++)
                {
                    Assert.True(seen.Contains(symbols[i]), $"{symbols[i]}, added before the read began, is missing from {read.Count:N0} positions read");
                }

                count++;
            }
            while (!writer.IsCompleted);
            return count;
        }, TestContext.Current.CancellationToken);
        await writer;
        Assert.True(reads > 0);
        Assert.Equal(symbols.Order(StringComparer.Ordinal), book.Get("ACC").Select(p => p.Symbol));
    }

    /// <summary>
    /// A page is the ordered tail of the book after its key, cut to its size: walked page by page from the start (every
    /// account, or some accounts in any order, unknown ones included) it gives what one read of them gives, skipping
    /// positions a deleted trade emptied, with accounts and symbols in both the runs' arrays and their overflows.
    /// </summary>
    [Fact]
    public void Pages_WalkedByTheirLastKey_AreTheOrderedBookOnce()
    {
        var random = new Random(40);
        var book = new PositionBook();
        var accounts = Enumerable.Range(0, 300).Select(i => $"ACC{i:D4}").OrderBy(_ => random.Next()).ToList();
        foreach (var account in accounts)
        {
            foreach (var symbol in Enumerable.Range(0, random.Next(1, 90)).Select(i => $"S{random.Next(1000):D3}").Distinct())
            {
                book.Move(Trade(account, symbol), 1, 1);
            }
        }

        // Emptied positions (every fill of theirs deleted) stay in the runs and are never listed.
        foreach (var account in accounts.Take(40))
        {
            var first = book.Get(account)[0];
            book.Move(Trade(account, first.Symbol), -1, -1);
        }

        var all = book.Get(null);
        Assert.DoesNotContain(all, p => p.IsEmpty);
        foreach (var take in new[] { 1, 7, 100, 5_000 })
        {
            Assert.Equal(all, Walk(null, take));
        }

        string[] some = ["ACC0299", "NOPE", "ACC0007", "ACC0150"];
        var ofSome = some.Order(StringComparer.Ordinal).SelectMany(book.Get).ToList();
        Assert.True(ofSome.Count > 10);
        Assert.Equal(ofSome, Walk([.. some.Order(StringComparer.Ordinal)], 3));
        Assert.Empty(book.Page(["NOPE"], null, 5));

        List<Position> Walk(IReadOnlyList<string>? of, int take)
        {
            var read = new List<Position>();
            PositionKey? after = null;
            while (true)
            {
                var page = book.Page(of, after, take);
                Assert.True(page.Count <= take);
                read.AddRange(page);
                if (page.Count < take)
                {
                    return read;
                }

                after = new PositionKey(page[^1].Account, page[^1].Symbol);
            }
        }
    }

    private static Trade Trade(string account, string symbol)
    {
        var at = new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);
        return new Trade("T", account, symbol, Side.Buy, 10, 1, 1, 1, TradeStatus.PartiallyFilled, null, null, at, 2, 2, at, at);
    }
}
