using Microsoft.AspNetCore.Http;
using TradeStore.Core.Trades;
using TradeStore.Server.Api;

namespace TradeStore.Server.Security;

/// <summary>
/// Object-level authorization (OWASP API1): a key scoped to accounts touches only their trades. By design a trade of
/// another account is indistinguishable from an unknown one, for reads and writes alike: the same 404, no account,
/// no version, so a scoped key cannot enumerate other accounts' trades.
/// </summary>
public static class AccountAccess
{
    /// <summary>
    /// The caller's scope: the one its <see cref="CallerIdentity"/> carries; for any other principal, read from its claims
    /// once per request and then kept as a request feature (a batch asks for it twice per item, and reading the claims
    /// each time cost a list, a set and the claim enumerators per item).
    /// </summary>
    public static AccountScope Scope(HttpContext context)
    {
        if (context.User.Identity is CallerIdentity caller)
        {
            return caller.Scope;
        }

        if (context.Features.Get<AccountScope>() is { } known)
        {
            return known;
        }

        var scope = AccountScope.Of(context.User);
        context.Features.Set(scope);
        return scope;
    }

    /// <summary>
    /// A 403 problem when the command creates a trade in an account outside the caller's scope (the caller named
    /// that account itself); a 404, exactly as for an unknown trade, when a scoped caller names a trade that does not
    /// exist (yet) or belongs to another account.
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

        var account = AccountOf(queries, command.TradeId);
        return account is not null && scope.Allows(account) ? null : Problems.NotFound(command.TradeId);
    }

    /// <summary>
    /// The writer's answer as a scoped caller may see it: a replay of a trade outside its accounts becomes the 404 of
    /// an unknown trade (the key's accounts may have changed since), and a create that collides with another
    /// account's trade says only that the id is taken, without its version.
    /// </summary>
    public static CommandResult Screen(HttpContext context, ITradeQueries queries, TradeCommand command, CommandResult result)
    {
        var scope = Scope(context);
        if (scope.IsAll)
        {
            return result;
        }

        if (result is { Replayed: true, Trade: { } replayed } && !scope.Allows(replayed.Account))
        {
            return CommandResult.Refused(CommandError.NotFound(command.TradeId));
        }

        if (result.Error is { Kind: CommandErrorKind.AlreadyExists } && AccountOf(queries, command.TradeId) is var owner && (owner is null || !scope.Allows(owner)))
        {
            return CommandResult.Refused(new CommandError(CommandErrorKind.AlreadyExists, $"A trade with id {command.TradeId} already exists; choose another id.", "tradeId"));
        }

        return result;
    }

    /// <summary>The account of a trade, deleted ones included; <see langword="null"/> for an unknown id.</summary>
    private static string? AccountOf(ITradeQueries queries, string tradeId) =>
        queries.GetTrade(tradeId)?.Account
        ?? (TradeValidation.TradeId(tradeId) is null ? queries.GetHistory(tradeId, 1).Account : null);
}
