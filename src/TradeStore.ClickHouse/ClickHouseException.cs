using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace TradeStore.ClickHouse;

/// <summary>ClickHouse answered with an error; <see cref="Exception.Message"/> carries ClickHouse's own text.</summary>
public sealed partial class ClickHouseException(HttpStatusCode status, string serverMessage)
    : Exception($"ClickHouse answered {(int)status} {status}: {serverMessage}")
{
    public HttpStatusCode Status { get; } = status;

    public string ServerMessage { get; } = serverMessage;

    /// <summary>ClickHouse's error code (<c>Code: 60, …</c>), when the text carries one.</summary>
    public int? ErrorCode { get; } = CodePattern().Match(serverMessage) is { Success: true } m
        ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
        : null;

    /// <summary>Unknown user, wrong password, or no access (codes 192-194, 497, 516).</summary>
    public bool IsAuthentication => ErrorCode is 192 or 193 or 194 or 497 or 516 || Status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden;

    /// <summary>The table or database does not exist (codes 60, 81).</summary>
    public bool IsMissingTable => ErrorCode is 60 or 81;

    [GeneratedRegex(@"^Code: (\d+)")]
    private static partial Regex CodePattern();
}
