using System.Net;

namespace TradeStore.ClickHouse;

/// <summary>ClickHouse answered with an error; <see cref="Exception.Message"/> carries ClickHouse's own text.</summary>
public sealed class ClickHouseException(HttpStatusCode status, string serverMessage)
    : Exception($"ClickHouse answered {(int)status} {status}: {serverMessage}")
{
    public HttpStatusCode Status { get; } = status;

    public string ServerMessage { get; } = serverMessage;
}
