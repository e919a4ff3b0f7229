-- TradeStore ClickHouse schema v1. Runs with the HTTP parameter database=<ClickHouse:Database>.
-- Every statement is idempotent (IF NOT EXISTS) because ClickHouse DDL is not transactional:
-- a run interrupted half-way completes when repeated.
-- Times are Int64 microseconds since the Unix epoch (ClickHouse 18.16 has no DateTime64);
-- recorded_date is derived for pruning. Tables are not partitioned, so one INSERT is one atomic part.

CREATE TABLE IF NOT EXISTS trade_events
(
    seq             Int64,
    trade_id        String,
    version         Int64,
    event_type      String,
    account         String,
    symbol          String,
    side            String,
    quantity        Decimal(18, 8),
    price           Decimal(18, 8),
    filled_quantity Decimal(18, 8),
    filled_notional Decimal(38, 16),
    last_quantity   Nullable(Decimal(18, 8)),
    last_price      Nullable(Decimal(18, 8)),
    status          String,
    venue           Nullable(String),
    trader          Nullable(String),
    executed_at_us  Int64,
    created_at_us   Int64,
    recorded_at_us  Int64,
    recorded_date   Date DEFAULT toDate(intDiv(recorded_at_us, 1000000)),
    idempotency_key Nullable(String)
)
ENGINE = ReplacingMergeTree
ORDER BY seq;

CREATE TABLE IF NOT EXISTS trade_state
(
    trade_id        String,
    version         Int64,
    last_seq        Int64,
    account         String,
    symbol          String,
    side            String,
    quantity        Decimal(18, 8),
    price           Decimal(18, 8),
    filled_quantity Decimal(18, 8),
    filled_notional Decimal(38, 16),
    status          String,
    venue           Nullable(String),
    trader          Nullable(String),
    executed_at_us  Int64,
    created_at_us   Int64,
    updated_at_us   Int64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY trade_id;
