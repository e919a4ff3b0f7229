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

    /// <summary>
    /// A 403 problem when the command creates a trade in, or changes a trade of, an account outside the caller's
    /// scope; a 404 when a scoped caller names a trade that does not exist (yet).
    /// </summary>
    /// <remarks>
    /// By design a scoped caller's command on an unknown trade is refused here rather than handed to the writer:
    /// the trade could be created in another account between this check and the commit, and the command would
    /// then change it. An account never changes after create, so a trade that exists now is decided for good.
    /// </remarks>
    public static ApiProblem? CheckWrite(HttpContext context, ITradeQueries queries, TradeCommand command)
    {
        var scope = Scope(context);
        if (scope.IsAll)
        {
            return null;
        }

        if (command is CreateTrade create)
        {
            return scope.Allows(create.Account) ? null : Problems.AccountForbidden(create.Account);
        }

        var account = queries.GetTrade(command.TradeId)?.Account ?? LastAccount(queries, command.TradeId);
        return account is null ? Problems.NotFound(command.TradeId)
            : scope.Allows(account) ? null
            : Problems.AccountForbidden(account);
    }

    private static string? LastAccount(ITradeQueries queries, string tradeId) =>
        TradeValidation.TradeId(tradeId) is null && queries.GetHistory(tradeId) is { Count: > 0 } events ? events[^1].State.Account : null;
}
