namespace TradeStore.Storage.Integrity;

/// <summary>The integrity check found problems; <see cref="Report"/> lists them with the recovery options. Nothing was changed.</summary>
public sealed class IntegrityException(IntegrityReport report) : Exception(report.Describe())
{
    public IntegrityReport Report { get; } = report;
}
