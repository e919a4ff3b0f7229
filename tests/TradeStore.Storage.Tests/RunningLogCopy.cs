namespace TradeStore.Storage.Tests;

/// <summary>Copies of a journal log directory taken while its engine runs: what a SIGKILL at that moment leaves.</summary>
internal static class RunningLogCopy
{
    /// <summary>
    /// Copies every file of <paramref name="from"/> into <paramref name="to"/>. The segment preparer may rename its
    /// spare (<c>next-segment.zeroing</c> to <c>.zeroed</c>) between the listing and the copy; a file that is gone by
    /// then is left out, as a kill a moment later would have left it out.
    /// </summary>
    public static void CopyFiles(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            try
            {
                File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
            }
            catch (FileNotFoundException)
            {
            }
        }
    }
}
