using Microsoft.AspNetCore.Http;
using TradeStore.Server.Api;

namespace TradeStore.Server.Cluster;

/// <summary>The replication's problems (issue #14), in the API's <c>urn:tradestore:problem:</c> family.</summary>
public static class ReplicationProblems
{
    public const string LogDivergedType = "urn:tradestore:problem:log-diverged";

    public static ApiProblem StaleTerm(long term, long leading) => new("urn:tradestore:problem:stale-term", "Stale term", StatusCodes.Status409Conflict,
        $"The acknowledgement is for term {term} but this node leads in term {leading} (0: it does not lead); it was ignored.", "term", null);

    public static ApiProblem LogDiverged(ReplicationStreamRequest request, long leaderLastSeq, long? leaderTermAtPrev) => new(LogDivergedType, "Logs diverged",
        StatusCodes.Status409Conflict,
        leaderTermAtPrev is { } term
            ? $"The follower's record seq {request.PrevSeq} has term {request.PrevTerm}, this leader's has term {term}: the follower holds records this leader never had."
            : $"The follower's log ends at seq {request.PrevSeq}, after this leader's last seq {leaderLastSeq}: seq {leaderLastSeq + 1}..{request.PrevSeq} were never acknowledged by this leader.",
        "prevSeq", null);

    public static ApiProblem Recycled(long fromSeq, long firstSeq) => new("urn:tradestore:problem:log-recycled", "Records recycled", StatusCodes.Status410Gone,
        $"The leader's journal log starts at seq {firstSeq}; seq {fromSeq} was recycled behind a DuckDB checkpoint. Re-seed this node from a backup of the leader.",
        "fromSeq", null);

    public static ApiProblem SeqNotReached(long minSeq, long seq, TimeSpan waited) => new("urn:tradestore:problem:seq-not-reached", "Seq not reached",
        StatusCodes.Status503ServiceUnavailable,
        $"This node holds the journal up to seq {seq}, not yet seq {minSeq}, after waiting {waited.TotalMilliseconds:0} ms (Cluster:ReadWaitTimeout). Retry, or read from the leader.",
        "minSeq", null, ClusterProblems.RetryAfterSeconds);

    /// <summary>For <c>POST /v1/query</c>: the log holds <paramref name="minSeq"/> but DuckDB, applied behind it, does not yet.</summary>
    public static ApiProblem SeqNotApplied(long minSeq, long appliedSeq, TimeSpan waited) => new("urn:tradestore:problem:seq-not-reached", "Seq not reached",
        StatusCodes.Status503ServiceUnavailable,
        $"This node's journal log holds seq {minSeq}, but its DuckDB (which queries read, applied behind the log) holds up to seq {appliedSeq} after waiting {waited.TotalMilliseconds:0} ms (Cluster:ReadWaitTimeout). Retry.",
        "minSeq", null, ClusterProblems.RetryAfterSeconds);
}
