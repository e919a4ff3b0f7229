using StackExchange.Redis;

namespace TradeStore.Redis;

/// <summary>
/// What went wrong with Redis, in a line an operator reads in readiness. StackExchange.Redis puts its whole
/// connection state into a timeout's or a lost connection's message ("Timeout awaiting response (…), command=GET, next: …,
/// inst: 0, qu: 0, … IOCP: …, v: 3.4… (see https://seredis.dev/Timeouts …)": 700–1,000 characters); the first clause and
/// the command say what happened, the rest is for a StackExchange.Redis issue report and stays in the log's exception.
/// </summary>
public static class RedisErrorText
{
    public static string Brief(Exception exception) => exception switch
    {
        RedisTimeoutException or RedisConnectionException => FirstClause(exception.Message),
        _ => exception.Message,
    };

    /// <summary>
    /// The message up to its first ", " outside parentheses ("Timeout awaiting response (outbound=0KiB, inbound=0KiB,
    /// 884ms elapsed, timeout is 300ms)"), and the command it was about when the message names one ("command=GET").
    /// </summary>
    private static string FirstClause(string message)
    {
        var clauses = TopLevelClauses(message);
        var command = clauses.Skip(1).FirstOrDefault(c => c.StartsWith("command=", StringComparison.Ordinal));
        return command is null ? clauses[0] : $"{clauses[0]}, {command}";
    }

    private static List<string> TopLevelClauses(string message)
    {
        var clauses = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < message.Length; i++)
        {
            switch (message[i])
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    depth = Math.Max(0, depth - 1);
                    break;
                case ',' when depth == 0 && i + 1 < message.Length && message[i + 1] == ' ':
                    clauses.Add(message[start..i]);
                    start = i + 2;
                    break;
            }
        }

        clauses.Add(message[start..]);
        return clauses;
    }
}
