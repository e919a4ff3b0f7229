using System.Collections.Concurrent;
using System.Collections.Immutable;
using TradeStore.Core.Trades;

namespace TradeStore.Storage.Engine;

/// <summary>
/// The positions of every (account, symbol), with the accounts and each account's symbols also kept as sorted
/// snapshots, so reading every position walks them in (account, symbol) order instead of sorting on each request:
/// with 10,000 accounts a read of all positions costs their number, not a sort. Readers never lock; only the
/// single writer changes it. A snapshot changes only when a new account, or a new symbol of an account, appears.
/// </summary>
/// <remarks>
/// The snapshots are immutable sorted trees: a new name costs the writer a path of the tree (O(log n)). They were sorted
/// arrays copied whole for each new name, which at 100,000 accounts took the writer about 4 ms of copying and a
/// large-object allocation per new account (<c>PositionBookTests</c>).
/// </remarks>
internal sealed class PositionBook
{
    private readonly ConcurrentDictionary<string, Account> _accounts = new(StringComparer.Ordinal);
    private ImmutableSortedSet<string> _sortedAccounts = ImmutableSortedSet.Create<string>(StringComparer.Ordinal);

    /// <summary>Non-empty positions of one account, or of all accounts, ordered by account then symbol.</summary>
    public List<Position> Get(string? account)
    {
        var result = new List<Position>();
        if (account is not null)
        {
            if (_accounts.TryGetValue(account, out var one))
            {
                one.AddTo(result);
            }

            return result;
        }

        foreach (var name in Volatile.Read(ref _sortedAccounts))
        {
            if (_accounts.TryGetValue(name, out var each))
            {
                each.AddTo(result);
            }
        }

        return result;
    }

    /// <summary>Moves the position of the trade's (account, symbol) by a fill quantity and notional on its side.</summary>
    public void Move(Trade trade, decimal quantity, decimal notional)
    {
        if (!_accounts.TryGetValue(trade.Account, out var account))
        {
            account = _accounts.GetOrAdd(trade.Account, static name => new Account(name));
            Volatile.Write(ref _sortedAccounts, Volatile.Read(ref _sortedAccounts).Add(trade.Account));
        }

        account.Move(trade, quantity, notional);
    }

    /// <summary>Replaces every position (the start-up load, before any reader).</summary>
    public void Load(IEnumerable<Position> positions)
    {
        _accounts.Clear();
        foreach (var group in positions.GroupBy(p => p.Account, StringComparer.Ordinal))
        {
            var account = new Account(group.Key);
            account.Load(group);
            _accounts[group.Key] = account;
        }

        Volatile.Write(ref _sortedAccounts, ImmutableSortedSet.CreateRange(StringComparer.Ordinal, _accounts.Keys));
    }

    /// <summary>One account's positions by symbol and its symbols in order.</summary>
    private sealed class Account(string name)
    {
        private readonly ConcurrentDictionary<string, Position> _bySymbol = new(StringComparer.Ordinal);
        private ImmutableSortedSet<string> _sortedSymbols = ImmutableSortedSet.Create<string>(StringComparer.Ordinal);

        public void AddTo(List<Position> result)
        {
            foreach (var symbol in Volatile.Read(ref _sortedSymbols))
            {
                if (_bySymbol.TryGetValue(symbol, out var position) && !position.IsEmpty)
                {
                    result.Add(position);
                }
            }
        }

        public void Move(Trade trade, decimal quantity, decimal notional)
        {
            if (_bySymbol.TryGetValue(trade.Symbol, out var existing))
            {
                _bySymbol[trade.Symbol] = existing.Apply(trade.Side, quantity, notional, 1);
                return;
            }

            // The position first, then the snapshot that makes readers look for it.
            _bySymbol[trade.Symbol] = Position.Empty(name, trade.Symbol).Apply(trade.Side, quantity, notional, 1);
            Volatile.Write(ref _sortedSymbols, Volatile.Read(ref _sortedSymbols).Add(trade.Symbol));
        }

        public void Load(IEnumerable<Position> positions)
        {
            foreach (var position in positions)
            {
                _bySymbol[position.Symbol] = position;
            }

            _sortedSymbols = ImmutableSortedSet.CreateRange(StringComparer.Ordinal, _bySymbol.Keys);
        }
    }
}
