-- Drops the analytics copy of every trade and event; DuckDB keeps the originals, and the next serve (after migrate up --target clickhouse, or by itself with Storage:AutoMigrate) refills ClickHouse from DuckDB's journal.
DROP TABLE IF EXISTS trade_state;
DROP TABLE IF EXISTS trade_events;
