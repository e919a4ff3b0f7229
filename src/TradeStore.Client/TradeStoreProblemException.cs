namespace TradeStore.Client;

/// <summary>
/// The service refused a request with RFC 7807 problem details. <see cref="Field"/> names the bad input,
/// <see cref="CurrentVersion"/> the trade's version on a conflict. A refused request changed nothing unless
/// <see cref="IsInDoubt"/> says its outcome is unknown.
/// </summary>
public class TradeStoreProblemException : Exception
{
    public TradeStoreProblemException(Problem problem)
        : base($"{problem.Status} {problem.Title}: {problem.Detail}{(problem.Field is null ? "" : $" (field '{problem.Field}')")}")
    {
        Problem = problem;
    }

    /// <summary>A problem restated by the client (a detail and field the caller can act on); <paramref name="innerException"/> is the server's.</summary>
    public TradeStoreProblemException(Problem problem, Exception innerException)
        : base($"{problem.Status} {problem.Title}: {problem.Detail}{(problem.Field is null ? "" : $" (field '{problem.Field}')")}", innerException)
    {
        Problem = problem;
    }

    public TradeStoreProblemException()
        : this(new Problem("about:blank", "Unknown problem", 0, null))
    {
    }

    public TradeStoreProblemException(string message)
        : this(new Problem("about:blank", message, 0, message))
    {
    }

    public TradeStoreProblemException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problem = new Problem("about:blank", message, 0, message);
    }

    public Problem Problem { get; }

    public int Status => Problem.Status;

    /// <summary>The problem type, e.g. <c>urn:tradestore:problem:version-conflict</c>.</summary>
    public string Type => Problem.Type;

    public string Title => Problem.Title;

    public string? Detail => Problem.Detail;

    public string? Field => Problem.Field;

    public long? CurrentVersion => Problem.CurrentVersion;

    /// <summary>
    /// True when the command may have been applied all the same: the problem is one of those <see cref="Problem.IsInDoubt"/>
    /// names (<c>leadership-lost</c>, <c>replication-unavailable</c>, <c>internal</c>, a gateway's 502/504), or an
    /// earlier attempt of the same command reached the server and its answer was lost (the client then retried and got
    /// this problem, which speaks only for its own attempt). Send the command again with the same idempotency key; false
    /// means nothing was changed.
    /// </summary>
    public bool IsInDoubt => Problem.IsInDoubt || EarlierAttemptInDoubt is not null || AnswerReplaced;

    /// <summary>A write's 2xx answer was not TradeStore's (not JSON: a proxy's page): the write may have reached it.</summary>
    internal bool AnswerReplaced { get; init; }

    /// <summary>
    /// For a batch whose problem is <see cref="IsInDoubt"/>: its commands as sent, each with its idempotency key; send
    /// them again. Null otherwise.
    /// </summary>
    public IReadOnlyList<BatchCommand>? BatchCommands { get; internal set; }

    /// <summary>Why an earlier attempt of the command may have been applied (what became of its answer), when one may have.</summary>
    internal string? EarlierAttemptInDoubt { get; set; }

    public override string Message => EarlierAttemptInDoubt is { } earlier
        ? $"{base.Message} An earlier attempt of the command may have been applied ({earlier}); send it again with the same idempotency key."
        : base.Message;

    /// <summary>The exception for a problem: the matching subclass for a version conflict, an unknown trade or a forbidden request.</summary>
    public static TradeStoreProblemException For(Problem problem) => problem.Type switch
    {
        "urn:tradestore:problem:version-conflict" => new VersionConflictException(problem),
        "urn:tradestore:problem:not-found" => new NotFoundException(problem),
        "urn:tradestore:problem:forbidden" => new ForbiddenException(problem),
        _ => new TradeStoreProblemException(problem),
    };
}

/// <summary>409 <c>version-conflict</c>: the <c>expectedVersion</c> was stale; <see cref="TradeStoreProblemException.CurrentVersion"/> is the current one.</summary>
public sealed class VersionConflictException(Problem problem) : TradeStoreProblemException(problem);

/// <summary>404 <c>not-found</c>: an unknown or deleted trade (or one of an account the key may not see).</summary>
public sealed class NotFoundException(Problem problem) : TradeStoreProblemException(problem);

/// <summary>403 <c>forbidden</c>: the key's role or accounts do not allow the request.</summary>
public sealed class ForbiddenException(Problem problem) : TradeStoreProblemException(problem);
