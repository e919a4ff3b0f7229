-- Drops the analytics copy of every trade and event; DuckDB keeps the originals, and the next serve (after migrate up --target clickhouse, or by itself with Storage:AutoMigrate) refills ClickHouse from DuckDB's journal.
-- trade_events first: a down that stops between the two leaves trade_state and no trade_events, and the refill from
-- seq 1 that follows 'migrate up' rewrites both; the other way round trade_state would stay without the older trades.
DROP TABLE IF EXISTS trade_events;
DROP TABLE IF EXISTS trade_state;
