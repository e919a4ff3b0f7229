namespace TradeStore.Redis.Projection;

/// <summary>The Lua scripts that make each batch (and each rebuild step) one atomic unit in Redis.</summary>
internal static class ProjectionScripts
{
    /// <summary>
    /// Applies one batch. ARGV: checkpoint key, stream key, expected checkpoint, new checkpoint, stream MAXLEN,
    /// trade count, position count, event count, generation key, a new generation (set only when Redis has none: it
    /// was emptied), then the trades (key, field-pair count, pairs; count 0 deletes;
    /// by design HSET without DEL: a live trade never loses a field, so overwriting is the whole state),
    /// the positions (key, symbol, the four old sums as read, "1" to remove or "0", the six new values) and the
    /// events (entry id, field-pair count, pairs).
    /// Returns {1, cp} applied; {0, cp} already applied (cp &gt;= new); {-1, cp} checkpoint is not the expected one;
    /// {-2, cp} a position changed since it was read. Nothing is written unless it returns 1.
    /// </summary>
    public const string ApplyBatch = """
        local cp = tonumber(redis.call('GET', ARGV[1]) or '0')
        local newCp = tonumber(ARGV[4])
        if cp >= newCp then return {0, cp} end
        if cp ~= tonumber(ARGV[3]) then return {-1, cp} end
        local nT, nP, nE = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
        local sums = {':boughtQty', ':boughtNotional', ':soldQty', ':soldNotional'}
        local all = {':boughtQty', ':boughtNotional', ':soldQty', ':soldNotional', ':net', ':avgPrice'}
        local i = 11
        local tStart = i
        for t = 1, nT do i = i + 2 + 2 * tonumber(ARGV[i + 1]) end
        local pStart = i
        for p = 1, nP do
          local key, sym = ARGV[i], ARGV[i + 1]
          local v = redis.call('HMGET', key, sym .. sums[1], sym .. sums[2], sym .. sums[3], sym .. sums[4])
          for s = 1, 4 do
            if (v[s] or '') ~= ARGV[i + 1 + s] then return {-2, cp} end
          end
          i = i + 13
        end
        local eStart = i
        i = tStart
        for t = 1, nT do
          local key, n = ARGV[i], tonumber(ARGV[i + 1])
          if n == 0 then
            redis.call('DEL', key)
          else
            local args = {}
            for k = 1, 2 * n do args[k] = ARGV[i + 1 + k] end
            redis.call('HSET', key, unpack(args))
          end
          i = i + 2 + 2 * n
        end
        i = pStart
        for p = 1, nP do
          local key, sym = ARGV[i], ARGV[i + 1]
          if ARGV[i + 6] == '1' then
            redis.call('HDEL', key, sym .. all[1], sym .. all[2], sym .. all[3], sym .. all[4], sym .. all[5], sym .. all[6])
          else
            local args = {}
            for s = 1, 6 do
              args[2 * s - 1] = sym .. all[s]
              args[2 * s] = ARGV[i + 6 + s]
            end
            redis.call('HSET', key, unpack(args))
          end
          i = i + 13
        end
        local lastId = 0
        local last = redis.call('XREVRANGE', ARGV[2], '+', '-', 'COUNT', 1)
        if #last > 0 then lastId = tonumber(string.match(last[1][1], '^(%d+)')) end
        i = eStart
        for e = 1, nE do
          local id, n = ARGV[i], tonumber(ARGV[i + 1])
          if tonumber(string.match(id, '^(%d+)')) > lastId then
            local args = {ARGV[2], 'MAXLEN', '~', ARGV[5], id}
            for k = 1, 2 * n do args[5 + k] = ARGV[i + 1 + k] end
            redis.call('XADD', unpack(args))
          end
          i = i + 2 + 2 * n
        end
        redis.call('SET', ARGV[1], ARGV[4])
        redis.call('SET', ARGV[9], ARGV[10], 'NX')
        return {1, newCp}
        """;

    /// <summary>Rebuild step: replaces whole trade hashes. ARGV: trade count, then (key, field-pair count, pairs; count 0 deletes).</summary>
    public const string ReplaceTrades = """
        local i = 2
        for t = 1, tonumber(ARGV[1]) do
          local key, n = ARGV[i], tonumber(ARGV[i + 1])
          redis.call('DEL', key)
          if n > 0 then
            local args = {}
            for k = 1, 2 * n do args[k] = ARGV[i + 1 + k] end
            redis.call('HSET', key, unpack(args))
          end
          i = i + 2 + 2 * n
        end
        return 1
        """;

    /// <summary>Rebuild step: appends journal events the stream lacks. ARGV: stream key, MAXLEN, event count, then (id, pair count, pairs).</summary>
    public const string AppendStream = """
        local lastId = 0
        local last = redis.call('XREVRANGE', ARGV[1], '+', '-', 'COUNT', 1)
        if #last > 0 then lastId = tonumber(string.match(last[1][1], '^(%d+)')) end
        local i = 4
        local added = 0
        for e = 1, tonumber(ARGV[3]) do
          local id, n = ARGV[i], tonumber(ARGV[i + 1])
          if tonumber(string.match(id, '^(%d+)')) > lastId then
            local args = {ARGV[1], 'MAXLEN', '~', ARGV[2], id}
            for k = 1, 2 * n do args[5 + k] = ARGV[i + 1 + k] end
            redis.call('XADD', unpack(args))
            added = added + 1
          end
          i = i + 2 + 2 * n
        end
        return added
        """;

    /// <summary>
    /// Rebuild's last step, atomic: drops every positions hash under the prefix (found with SCAN inside the script,
    /// so one the live projector created a moment ago goes too), writes the rebuilt positions and sets the checkpoint.
    /// The live projector then re-applies whatever follows the checkpoint. ARGV: checkpoint key, positions pattern,
    /// checkpoint, position-hash count, generation key, new generation, then (key, pair count, pairs).
    /// </summary>
    public const string ReplacePositions = """
        local cursor = '0'
        repeat
          local page = redis.call('SCAN', cursor, 'MATCH', ARGV[2], 'COUNT', 1000)
          cursor = page[1]
          for _, key in ipairs(page[2]) do redis.call('DEL', key) end
        until cursor == '0'
        local i = 7
        for p = 1, tonumber(ARGV[4]) do
          local key, n = ARGV[i], tonumber(ARGV[i + 1])
          if n > 0 then
            local args = {}
            for k = 1, 2 * n do args[k] = ARGV[i + 1 + k] end
            redis.call('HSET', key, unpack(args))
          end
          i = i + 2 + 2 * n
        end
        redis.call('SET', ARGV[1], ARGV[3])
        redis.call('SET', ARGV[5], ARGV[6])
        return 1
        """;

    /// <summary>
    /// Online rebuild, atomic: drops every positions hash under the prefix and the checkpoint, so the running
    /// projector finds checkpoint 0 and replays the journal from its start. ARGV: checkpoint key, positions pattern,
    /// generation key, new generation.
    /// </summary>
    public const string ClearPositionsAndCheckpoint = """
        local cursor = '0'
        local removed = 0
        repeat
          local page = redis.call('SCAN', cursor, 'MATCH', ARGV[2], 'COUNT', 1000)
          cursor = page[1]
          for _, key in ipairs(page[2]) do
            redis.call('DEL', key)
            removed = removed + 1
          end
        until cursor == '0'
        redis.call('DEL', ARGV[1])
        redis.call('SET', ARGV[3], ARGV[4])
        return removed
        """;
}
