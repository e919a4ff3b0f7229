global using TradeStore.TestSupport;
