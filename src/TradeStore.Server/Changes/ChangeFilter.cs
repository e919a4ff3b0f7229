using TradeStore.Core.Trades;
using TradeStore.Server.Security;

namespace TradeStore.Server.Changes;

/// <summary>Which events a stream carries: the caller's accounts, narrowed by <c>account=</c> and <c>symbol=</c>.</summary>
public sealed record ChangeFilter(AccountScope Scope, string? Account, string? Symbol)
{
    /// <summary>Whether every event matches: a key for all accounts, with neither <c>account=</c> nor <c>symbol=</c>.</summary>
    public bool TakesEverything { get; } = Scope.IsAll && Account is null && Symbol is null;

    public bool Matches(TradeEvent journalEvent)
    {
        var trade = journalEvent.State;
        return Scope.Allows(trade.Account)
            && (Account is null || string.Equals(trade.Account, Account, StringComparison.Ordinal))
            && (Symbol is null || string.Equals(trade.Symbol, Symbol, StringComparison.Ordinal));
    }
}
