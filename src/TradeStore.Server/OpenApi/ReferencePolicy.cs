using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Scalar.AspNetCore;

namespace TradeStore.Server.OpenApi;

/// <summary>
/// The Content-Security-Policy of the API reference page: everything from this origin only. Scalar's page starts itself
/// with an inline module script, so scripts carry a fresh nonce per answer instead of allowing <c>'unsafe-inline'</c>
/// scripts. Its Vue components set inline styles and inject style elements without a nonce, so styles need
/// <c>'unsafe-inline'</c> (styles only, and still only from this origin).
/// </summary>
internal static class ReferencePolicy
{
    public static void Apply(ScalarOptions options, HttpContext context)
    {
        // Hex: base64's + and / were HTML-encoded in the page, so the nonce then matched nothing (CI, one run).
        var nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        options.Nonce = nonce;
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy =
            $"default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; " +
            "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
    }
}
