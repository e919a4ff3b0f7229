using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;
using TradeStore.Storage.CommitLog;

namespace TradeStore.Server.Cluster;

/// <summary>
/// What a follower sends to open <c>POST /v1/replication/stream</c>: who it is, the leader term it follows, and its
/// last record (<paramref name="PrevSeq"/>, <paramref name="PrevTerm"/>; 0 and 0 for an empty log), so the leader can
/// check the two logs agree before it streams from <paramref name="FromSeq"/> = <paramref name="PrevSeq"/> + 1.
/// <paramref name="Incarnation"/> is the identity of the follower's data directory (<see cref="TradeStore.Cluster.NodeIncarnation"/>).
/// </summary>
public sealed record ReplicationStreamRequest(string Node, long Term, long FromSeq, long PrevSeq, long PrevTerm, string? Incarnation = null);

/// <summary>Source-generated JSON of the replication requests.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ReplicationStreamRequest))]
public sealed partial class ReplicationJson : JsonSerializerContext;

/// <summary>
/// The framing of the stream's body: journal records exactly as on disk (<see cref="LogRecordFormat"/>), and between
/// them, while nothing is appended, a heartbeat every <see cref="HeartbeatInterval"/>: a record header with length 0,
/// checksum 0 and seq 0 (no real record has seq 0) carrying the leader's term.
/// </summary>
public static class ReplicationFrames
{
    /// <summary>The media type of the stream's body.</summary>
    public const string ContentType = "application/vnd.tradestore.journal";

    /// <summary>Header of the leader's last seq on a <c>log-diverged</c> answer.</summary>
    public const string LeaderLastSeqHeader = "TradeStore-Leader-Last-Seq";

    /// <summary>Header of the leader's term runs (<see cref="TermRun.Format"/>) on a <c>log-diverged</c> answer.</summary>
    public const string LeaderTermsHeader = "TradeStore-Leader-Terms";

    /// <summary>How often an idle stream carries a heartbeat.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long a follower waits for any bytes before it treats the stream as dead and reconnects.</summary>
    public static readonly TimeSpan DeadAfter = TimeSpan.FromSeconds(4);

    /// <summary>Writes a heartbeat of <paramref name="term"/> into <paramref name="target"/>; returns its size.</summary>
    public static int WriteHeartbeat(long term, Span<byte> target)
    {
        target[..LogRecordFormat.HeaderSize].Clear();
        BinaryPrimitives.WriteInt64LittleEndian(target[16..], term);
        return LogRecordFormat.HeaderSize;
    }

    /// <summary>
    /// Reads one frame at the start of <paramref name="source"/>: <see cref="FrameKind.Incomplete"/> when more bytes
    /// are needed, <see cref="FrameKind.Damaged"/> when a whole frame is there but is no intact record or heartbeat.
    /// </summary>
    public static FrameKind TryRead(ReadOnlySpan<byte> source, out LogRecord? record, out long heartbeatTerm, out int size)
    {
        record = null;
        heartbeatTerm = 0;
        size = 0;
        if (source.Length < LogRecordFormat.HeaderSize)
        {
            return FrameKind.Incomplete;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(source);
        if (length < 0 || length > LogRecordFormat.MaxPayload)
        {
            return FrameKind.Damaged;
        }

        if (length == 0 && BinaryPrimitives.ReadInt64LittleEndian(source[8..]) == 0 && BinaryPrimitives.ReadUInt32LittleEndian(source[4..]) == 0)
        {
            heartbeatTerm = BinaryPrimitives.ReadInt64LittleEndian(source[16..]);
            size = LogRecordFormat.HeaderSize;
            return FrameKind.Heartbeat;
        }

        if (source.Length < LogRecordFormat.FramedSize(length))
        {
            return FrameKind.Incomplete;
        }

        record = LogRecordFormat.TryRead(source, out size);
        return record is null ? FrameKind.Damaged : FrameKind.Record;
    }
}

/// <summary>
/// The framing of <c>POST /v1/replication/acks?node=N&amp;incarnation=I&amp;term=T</c>: one request per stream from the leader, whose chunked
/// body stays open and carries the follower's durable seq as 8 bytes, little-endian, each time it grows. One connection
/// and two small writes per acknowledgement, where a request per acknowledgement cost a whole HTTP exchange on both nodes.
/// </summary>
public static class AckFrames
{
    /// <summary>The media type of the acknowledgements' body.</summary>
    public const string ContentType = "application/vnd.tradestore.acks";

    /// <summary>Bytes per acknowledgement.</summary>
    public const int Size = sizeof(long);

    /// <summary>The path of the acknowledgement stream of <paramref name="node"/> (its data directory's <paramref name="incarnation"/>) in <paramref name="term"/>.</summary>
    public static string Path(string node, string incarnation, long term) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{ReplicationEndpoints.AcksPath}?node={Uri.EscapeDataString(node)}&incarnation={Uri.EscapeDataString(incarnation)}&term={term}");
}

/// <summary>What <see cref="ReplicationFrames.TryRead"/> found.</summary>
public enum FrameKind
{
    Incomplete,
    Record,
    Heartbeat,
    Damaged,
}
