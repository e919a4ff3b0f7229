-- Drops the analytics copy of every trade and event (DuckDB keeps the originals).
DROP TABLE IF EXISTS trade_state;
DROP TABLE IF EXISTS trade_events;
