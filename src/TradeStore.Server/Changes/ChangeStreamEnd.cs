using System.Text.Json.Serialization;

namespace TradeStore.Server.Changes;

/// <summary>
/// The data of the final <c>event: error</c> of a stream the server closes: why, and the seq to resume from
/// (<c>?fromSeq=</c>). Every event before it was delivered; nothing from <c>resumeFromSeq</c> on was.
/// </summary>
/// <param name="Type">A problem type: <c>urn:tradestore:problem:lagging</c>, <c>…:shutdown</c> or <c>…:gap</c>.</param>
/// <param name="Title">A short summary.</param>
/// <param name="Detail">What happened and what to do.</param>
/// <param name="ResumeFromSeq">The first seq not delivered: reconnect with <c>?fromSeq=</c> this.</param>
public sealed record ChangeStreamEnd(string Type, string Title, string Detail, long ResumeFromSeq);

/// <summary>Source-generated JSON of the change-feed's own messages.</summary>
[JsonSerializable(typeof(ChangeStreamEnd))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
public sealed partial class ChangeFeedJsonContext : JsonSerializerContext;
