using Microsoft.AspNetCore.Http;
using TradeStore.Core.Trades;
using TradeStore.Server.Api;

namespace TradeStore.Server.Security;

/// <summary>
/// Object-level authorization (OWASP API1): a key scoped to accounts touches only their trades.
/// Reads of other accounts' trades answer 404 exactly like an unknown trade; writes answer 403.
/// </summary>
public static class AccountAccess
{
    public static AccountScope Scope(HttpContext context) => AccountScope.Of(context.User);

    /// <summary>A 403 problem when the command creates a trade in, or changes a trade of, an account outside the caller's scope.</summary>
    public static ApiProblem? CheckWrite(HttpContext context, ITradeQueries queries, TradeCommand command)
    {
        var scope = Scope(context);
        if (scope.IsAll)
        {
            return null;
        }

        // An account never changes after create, so the trade's current (or last journalled, when deleted) account decides.
        var account = command is CreateTrade create
            ? create.Account
            : queries.GetTrade(command.TradeId)?.Account ?? LastAccount(queries, command.TradeId);
        return account is null || scope.Allows(account) ? null : Problems.AccountForbidden(account);
    }

    private static string? LastAccount(ITradeQueries queries, string tradeId) =>
        TradeValidation.TradeId(tradeId) is null && queries.GetHistory(tradeId) is { Count: > 0 } events ? events[^1].State.Account : null;
}
