using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace TradeStore.Server.Changes;

/// <summary>
/// Limits of the live change feed <c>GET /v1/changes</c> (section <c>Changes</c>). Each bound keeps the server's
/// memory fixed however many or however slow the subscribers are.
/// </summary>
public sealed class ChangeFeedOptions
{
    public const string SectionName = "Changes";

    /// <summary>
    /// Events a subscriber may have waiting (committed but not yet written to its connection). One more and it is
    /// disconnected with a final <c>event: error</c> naming the seq to resume from.
    /// </summary>
    /// <value>Default 50,000 (5 s at 10,000 writes/s).</value>
    [Range(100, 10_000_000, ErrorMessage = "must be between 100 and 10000000.")]
    public int MaxLagEvents { get; set; } = 50_000;

    /// <summary>Subscribers served at once; one more gets 503 <c>too-many-subscribers</c>.</summary>
    /// <value>Default 100.</value>
    [Range(1, 10_000, ErrorMessage = "must be between 1 and 10000.")]
    public int MaxSubscribers { get; set; } = 100;

    /// <summary>
    /// Streams one API key may hold open at once; one more gets 429 <c>too-many-requests</c>. So that one key (a leaking
    /// client, a stolen reader key) cannot take every slot of <see cref="MaxSubscribers"/> and lock the other keys out.
    /// Requests without a key (authentication off) share only <see cref="MaxSubscribers"/>.
    /// </summary>
    /// <value>Default 25.</value>
    [Range(1, 10_000, ErrorMessage = "must be between 1 and 10000.")]
    public int MaxSubscribersPerKey { get; set; } = 25;

    /// <summary>Longest silence on a stream before a <c>: heartbeat</c> comment, so proxies keep idle streams open.</summary>
    /// <value>Default 15 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00", ErrorMessage = "must be between 00:00:00.100 and 00:10:00.")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>Compile-time generated validator of <see cref="ChangeFeedOptions"/>.</summary>
[OptionsValidator]
public sealed partial class ChangeFeedOptionsValidator : IValidateOptions<ChangeFeedOptions>;
