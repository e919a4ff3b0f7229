namespace TradeStore.TestSupport;

/// <summary>The <c>Security:Query:Timeout</c> of the servers the tests host in-process (TestHostFactory, LiveServer).</summary>
public static class TestQueryTimeout
{
    /// <summary>
    /// One minute, as a <c>TRADESTORE__SECURITY__QUERY__TIMEOUT</c> value, instead of the default 10 s. Queries run at
    /// nice 19, so on a machine busy with other test assemblies even <c>SELECT 1</c> waited longer than 10 s for a CPU
    /// (13.7 s seen; OpenApiDocumentTests and client queries) and was answered 503 <c>query-starved</c>. A minute rides
    /// that out on a loaded CI run and still ends a runaway query. A test of the timeout sets its own; servers started as
    /// processes (<see cref="TradeStoreProcess"/>) keep the default.
    /// </summary>
    public const string Value = "00:01:00";
}
