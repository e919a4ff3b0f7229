using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using TradeStore.Core.Trades;

namespace TradeStore.Storage.Engine;

/// <summary>
/// The positions of every (account, symbol): the accounts in a sorted run of accounts, each account's positions in a
/// sorted run of positions (<see cref="SortedRun{T, TName}"/>), so reading every position walks arrays in (account,
/// symbol) order instead of sorting on each request: with 10,000 accounts a read of all positions costs their number,
/// not a sort. Readers never lock; only the single writer changes it. A run is replaced only when a new account, or a
/// new symbol of an account, appears; a fill replaces the position in its slot.
/// </summary>
/// <remarks>
/// Until session 37 the names were sorted arrays copied whole for each new name (at 100,000 accounts about 4 ms of
/// copying and a large-object allocation per new account); until session 38 immutable sorted trees, with a concurrent
/// dictionary of positions per account: a loaded book of 10,000 accounts × 20 symbols held 2.6 KB per account beside its
/// positions, now 320 bytes (<c>PositionBookMemoryTests</c>), and a read of every position is 3–4 times faster at 10,000
/// and 100,000 accounts (docs/benchmarks/2026-12-05-session38.md).
/// </remarks>
internal sealed class PositionBook
{
    private readonly ConcurrentDictionary<string, Account> _accounts = new(StringComparer.Ordinal);
    private SortedRun<Account, AccountName> _sortedAccounts = SortedRun<Account, AccountName>.Empty;

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

        foreach (var each in Volatile.Read(ref _sortedAccounts))
        {
            each.AddTo(result);
        }

        return result;
    }

    /// <summary>
    /// Up to <paramref name="take"/> non-empty positions after <paramref name="after"/> (from the first without it) in
    /// (account, symbol) order: of <paramref name="accounts"/> (ordinal order, each once), or of every account when
    /// <see langword="null"/>. A keyset seek: a binary search into the accounts and one into the first account's
    /// symbols, then a walk of what the page holds, so a page deep in a book of 200,000 positions costs what the first does.
    /// </summary>
    public List<Position> Page(IReadOnlyList<string>? accounts, PositionKey? after, int take)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(take);
        var result = new List<Position>(Math.Min(take, 1024));
        if (accounts is null)
        {
            foreach (var each in Volatile.Read(ref _sortedAccounts).From(after?.Account ?? ""))
            {
                if (!each.AddTo(result, after, take))
                {
                    break;
                }
            }

            return result;
        }

        foreach (var name in accounts)
        {
            if ((after is null || string.CompareOrdinal(name, after.Value.Account) >= 0)
                && _accounts.TryGetValue(name, out var each)
                && !each.AddTo(result, after, take))
            {
                break;
            }
        }

        return result;
    }

    /// <summary>Moves the position of the trade's (account, symbol) by a fill quantity and notional on its side.</summary>
    public void Move(Trade trade, decimal quantity, decimal notional)
    {
        if (!_accounts.TryGetValue(trade.Account, out var account))
        {
            account = new Account(trade.Account, SortedRun<Position, SymbolName>.Empty);
            _accounts[trade.Account] = account;
            Volatile.Write(ref _sortedAccounts, _sortedAccounts.With(account));
        }

        account.Move(trade, quantity, notional);
    }

    /// <summary>Replaces every position (the start-up load, before any reader).</summary>
    public void Load(IEnumerable<Position> positions)
    {
        _accounts.Clear();
        foreach (var group in positions.GroupBy(p => p.Account, StringComparer.Ordinal))
        {
            _accounts[group.Key] = new Account(group.Key, SortedRun<Position, SymbolName>.Create(group));
        }

        Volatile.Write(ref _sortedAccounts, SortedRun<Account, AccountName>.Create(_accounts.Values));
    }

    /// <summary>Accounts are ordered by name.</summary>
    private readonly struct AccountName : IRunName<Account>
    {
        public static string Of(Account item) => item.Name;
    }

    /// <summary>An account's positions are ordered by symbol.</summary>
    private readonly struct SymbolName : IRunName<Position>
    {
        public static string Of(Position item) => item.Symbol;
    }

    /// <summary>One account's positions in order of their symbols.</summary>
    private sealed class Account(string name, SortedRun<Position, SymbolName> positions)
    {
        private SortedRun<Position, SymbolName> _positions = positions;

        public string Name => name;

        public void AddTo(List<Position> result)
        {
            foreach (var position in Volatile.Read(ref _positions))
            {
                if (!position.IsEmpty)
                {
                    result.Add(position);
                }
            }
        }

        /// <summary>
        /// Adds the non-empty positions after <paramref name="after"/> (every one when it names another account) until
        /// <paramref name="result"/> holds <paramref name="take"/>; <see langword="false"/> once it does.
        /// </summary>
        public bool AddTo(List<Position> result, PositionKey? after, int take)
        {
            var positions = Volatile.Read(ref _positions);
            var afterSymbol = after is { } key && string.Equals(key.Account, name, StringComparison.Ordinal) ? key.Symbol : null;
            foreach (var position in afterSymbol is null ? positions.GetEnumerator() : positions.From(afterSymbol))
            {
                if (position.IsEmpty || string.Equals(position.Symbol, afterSymbol, StringComparison.Ordinal))
                {
                    continue;
                }

                result.Add(position);
                if (result.Count == take)
                {
                    return false;
                }
            }

            return true;
        }

        public void Move(Trade trade, decimal quantity, decimal notional)
        {
            ref var slot = ref _positions.SlotOf(trade.Symbol);
            if (!Unsafe.IsNullRef(ref slot))
            {
                Volatile.Write(ref slot, slot.Apply(trade.Side, quantity, notional, 1));
                return;
            }

            var position = Position.Empty(name, trade.Symbol).Apply(trade.Side, quantity, notional, 1);
            Volatile.Write(ref _positions, _positions.With(position));
        }
    }
}
