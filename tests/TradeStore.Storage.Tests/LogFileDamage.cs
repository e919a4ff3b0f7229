namespace TradeStore.Storage.Tests;

/// <summary>Damage done to journal log files by the tests that check what a start-up makes of it.</summary>
internal static class LogFileDamage
{
    /// <summary>Changes the byte at <paramref name="offset"/> of <paramref name="file"/> (so it no longer matches its checksum).</summary>
    public static void FlipByte(string file, long offset)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset;
        var value = stream.ReadByte();
        stream.Position = offset;
        stream.WriteByte((byte)(value ^ 0x5A));
    }
}
