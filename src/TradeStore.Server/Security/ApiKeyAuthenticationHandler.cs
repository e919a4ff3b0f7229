using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TradeStore.Core.Security;
using TradeStore.Server.Api;

namespace TradeStore.Server.Security;

/// <summary>
/// Authenticates <c>Authorization: Bearer ts_…</c> against the configured key hashes. With no keys configured,
/// a loopback caller is authenticated as <c>loopback</c> with every role (the embedded default).
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory loggerFactory, UrlEncoder encoder, ApiKeyStore keys,
    RefusedKeyLog refusals)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string LoopbackAuthenticationType = "Loopback";
    private const string FailureItem = "tradestore:auth-failure";

    /// <summary>
    /// By design each caller's principal is built once and its result reused: claims, identity, principal, ticket and
    /// task made per request were 10 of the 16 largest allocations of a point read (about a third of its bytes), and
    /// with a large book in memory every young GC those allocations bring on pauses every request in flight. Nothing
    /// changes a principal after authentication (no claims transformation is registered).
    /// </summary>
    private static readonly Task<AuthenticateResult> LoopbackSuccess =
        Task.FromResult(Success(LoopbackAuthenticationType, "loopback", null, ApiRoles.Admin, AccountScope.Everything));

    /// <summary>The result of each configured key, made on its first use; keyed by the store's entry, so it goes with the store.</summary>
    private static readonly ConditionalWeakTable<ApiKeyEntry, Task<AuthenticateResult>> KeySuccess = [];

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization;
        if (keys.AuthenticationOff)
        {
            if (Loopback.IsCaller(Context))
            {
                return LoopbackSuccess;
            }

            return Task.FromResult(Failure(Loopback.ForwardedBy(Context) is { } forwarded
                ? $"Authentication is off (no API keys are configured), so only loopback callers are served, and this request came through a proxy ({forwarded} header), whose callers may be anywhere. Configure API keys (Security:ApiKeys) to serve through a proxy."
                : "Authentication is off (no API keys are configured), so only loopback callers are served."));
        }

        if (header.Count == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var value = header.Count == 1 ? header[0] : null;
        if (value is null || !value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(Failure("The Authorization header must be one 'Bearer <key>'."));
        }

        var entry = keys.Find(value["Bearer ".Length..].Trim());
        if (entry is null)
        {
            // By design the same answer for an unknown id and a wrong secret, and the key is never logged; repeats are paced.
            refusals.Refused(Logger, Request.Method, Request.Path, Context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
            return Task.FromResult(Failure("The API key is not valid."));
        }

        return KeySuccess.GetValue(entry, static e => Task.FromResult(Success(SchemeName, e.Name, e.Hash.Id, e.Role, e.Scope)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        var detail = Context.Items[FailureItem] as string ?? "Send an API key as 'Authorization: Bearer <key>'.";
        await ApiResults.Problem(Context, Problems.Unauthorized(detail)).ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var role = Context.User.FindFirst(ClaimTypes.Role)?.Value ?? "none";
        await ApiResults.Problem(Context, Problems.Forbidden($"The key '{Context.User.Identity?.Name}' (role {role}) may not use {Request.Method} {Request.Path}.")).ExecuteAsync(Context);
    }

    private AuthenticateResult Failure(string detail)
    {
        Context.Items[FailureItem] = detail;
        return AuthenticateResult.Fail(detail);
    }

    private static AuthenticateResult Success(string authenticationType, string name, string? keyId, string role, AccountScope scope)
    {
        // The first role claim is the configured role (named in 403s); the implied ones follow for RequireRole.
        var claims = new List<Claim> { new(ClaimTypes.Name, name) };
        if (keyId is not null)
        {
            claims.Add(new Claim(IdempotencyNamespace.KeyIdClaimType, keyId));
        }

        claims.AddRange(ApiRoles.Implied(role).Select(r => new Claim(ClaimTypes.Role, r)));
        claims.AddRange(scope.ToClaims());
        var principal = new ClaimsPrincipal(new CallerIdentity(claims, authenticationType, scope));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }
}
