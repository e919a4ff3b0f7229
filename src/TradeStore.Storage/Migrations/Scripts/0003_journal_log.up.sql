-- TradeStore schema v3: the journal log (journal/*.log beside the database file) is the point of durability. An event
-- is acknowledged once the log holds it and trade_events is applied behind it, so after an unclean stop DuckDB may lack
-- acknowledged events that only the log holds (start-up replays them). No table changes: the version is the change.
-- A binary from before the log knows version 2 and refuses this database ("newer than this binary knows") instead of
-- serving without those events. Rolling back (migrate down --to 2) is refused while the log holds events DuckDB lacks.
COMMENT ON TABLE trade_events IS 'Applied behind the journal log (journal/*.log), the point of durability: schema v3, 0003_journal_log.';
