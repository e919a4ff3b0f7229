using Microsoft.AspNetCore.Http;
using TradeStore.Server.Api;

namespace TradeStore.Server.Changes;

/// <summary>The refusals of <c>GET /v1/changes</c> and the types of its final <c>event: error</c>.</summary>
public static class ChangeProblems
{
    public const string TypePrefix = "urn:tradestore:problem:";

    /// <summary>A scoped key named an account outside its scope (lists answer empty; a stream that could never carry anything is refused instead).</summary>
    public static ApiProblem AccountForbidden(string account) =>
        new(TypePrefix + "forbidden", "Not allowed", StatusCodes.Status403Forbidden, $"This key may not read the changes of account {account}.", "account");

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

    public static ApiProblem BadSeq(string field, string? text) =>
        new(TypePrefix + "validation", "Invalid request", StatusCodes.Status400BadRequest,
            field == ChangesEndpoint.LastEventIdHeader
                ? $"{field} must be the id of an event (an integer of 0 or more); got '{text}'."
                : $"{field} must be an integer of 1 or more; got '{text}'.",
            field);
}
