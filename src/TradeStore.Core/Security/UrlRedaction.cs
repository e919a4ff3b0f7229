using System.Text.RegularExpressions;

namespace TradeStore.Core.Security;

/// <summary>
/// Hides the user info of URLs (<c>http://user:password@host</c> → <c>http://***@host</c>) wherever a URL is shown:
/// <c>config show</c>, health answers (which need no key), log lines and error messages.
/// </summary>
public static partial class UrlRedaction
{
    public const string Redacted = "***";

    /// <summary><paramref name="uri"/> as text, its user info (if any) replaced by <c>***</c>.</summary>
    public static string Redact(Uri uri) => Redact(uri.ToString());

    /// <summary><paramref name="text"/> with the user info of every <c>scheme://user[:password]@</c> in it replaced by <c>***</c>.</summary>
    public static string Redact(string text) => text.Contains('@', StringComparison.Ordinal) ? UserInfo().Replace(text, "$1" + Redacted + "@") : text;

    [GeneratedRegex(@"(\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/?#\s@]+@", RegexOptions.CultureInvariant)]
    private static partial Regex UserInfo();
}
