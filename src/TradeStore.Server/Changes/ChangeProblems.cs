using System.Globalization;
using Microsoft.AspNetCore.Http;
using TradeStore.Server.Api;
using TradeStore.Server.Cluster;

namespace TradeStore.Server.Changes;

/// <summary>The refusals of <c>GET /v1/changes</c> and the types of its final <c>event: error</c>.</summary>
public static class ChangeProblems
{
    public const string TypePrefix = "urn:tradestore:problem:";

    /// <summary>
    /// Seconds a refused subscriber should wait (the <c>Retry-After</c> of <see cref="TooManySubscribers"/>). By design longer
    /// than a busy write's second: streams are long-lived, so a slot frees only when one of them ends, and a hundred
    /// clients retrying every second would only make more refusals.
    /// </summary>
    public const int TooManySubscribersRetryAfterSeconds = 5;

    public static ApiProblem TooManySubscribers(int limit) =>
        new(TypePrefix + "too-many-subscribers", "Too many change-feed subscribers", StatusCodes.Status503ServiceUnavailable,
            $"{limit} change streams are open (Changes:MaxSubscribers); retry in {TooManySubscribersRetryAfterSeconds} s.", null,
            RetryAfterSeconds: TooManySubscribersRetryAfterSeconds);

    /// <summary>
    /// The caller's key holds <c>Changes:MaxSubscribersPerKey</c> streams: 429, the key's own limit (as its request limits),
    /// not the server's 503; the same <c>Retry-After</c>, since a slot of its own frees only when one of its streams ends.
    /// </summary>
    public static ApiProblem TooManySubscribersForKey(string keyName, int limit) =>
        new(TypePrefix + "too-many-requests", "Too many requests", StatusCodes.Status429TooManyRequests,
            $"Key {keyName} holds {limit} change streams already (Changes:MaxSubscribersPerKey); close one, or retry in {TooManySubscribersRetryAfterSeconds} s.", null,
            RetryAfterSeconds: TooManySubscribersRetryAfterSeconds);

    public static ApiProblem BadSeq(string field, string? text) =>
        new(TypePrefix + "validation", "Invalid request", StatusCodes.Status400BadRequest,
            field == ChangesEndpoint.LastEventIdHeader
                ? $"{field} must be the id of an event (an integer of 0 or more); got '{text}'."
                : $"{field} must be an integer of 1 or more; got '{text}'.",
            field);

    /// <summary>
    /// The resume point (<paramref name="field"/>: <c>fromSeq</c> or <c>Last-Event-ID</c>) is more than one past this node's
    /// journal after <c>Cluster:ReadWaitTimeout</c>: the client holds events this node does not (yet). By design refused
    /// rather than followed from there, which would skip every event in between without a sign; the type and
    /// <c>Retry-After</c> are those of <c>?minSeq=</c>.
    /// </summary>
    /// <param name="field">The request's field that gave the position.</param>
    /// <param name="afterSeq">The last seq the client says it has (the stream would start after it).</param>
    /// <param name="lastSeq">The last seq this node holds.</param>
    /// <param name="waited">How long the request waited for it.</param>
    public static ApiProblem SeqNotReached(string field, long afterSeq, long lastSeq, TimeSpan waited)
    {
        var asked = field == ChangesEndpoint.LastEventIdHeader
            ? string.Create(CultureInfo.InvariantCulture, $"{field} {afterSeq} asks for the events after seq {afterSeq}")
            : string.Create(CultureInfo.InvariantCulture, $"{field} {afterSeq + 1} asks for the events from seq {afterSeq + 1}");
        return new(TypePrefix + "seq-not-reached", "Seq not reached", StatusCodes.Status503ServiceUnavailable,
            string.Create(CultureInfo.InvariantCulture,
                $"{asked}, but this node holds the journal up to seq {lastSeq} after waiting {waited.TotalMilliseconds:0} ms (Cluster:ReadWaitTimeout): " +
                $"seq {lastSeq + 1}..{afterSeq} are not here. Retry after Retry-After seconds (a follower catching up, a restarting server); if this server's data " +
                $"was replaced, start again at fromSeq={lastSeq + 1} or lower."),
            field, RetryAfterSeconds: ClusterProblems.RetryAfterSeconds);
    }
}
