// TradeStore operator console. Plain JavaScript, no build step: every figure is read from the same
// endpoints any client uses (/health/ready, /metrics, /v1/changes, /v1/positions, /v1/query).
(() => {
  'use strict';

  const KEY_STORAGE = 'tradestore.apiKey';
  const POLL_MS = 2000;
  const SPARK_POINTS = 60;
  const FEED_ROWS = 100;
  const $ = (id) => document.getElementById(id);

  let apiKey = sessionStorage.getItem(KEY_STORAGE) || '';
  let previousScrape = null;
  const sparkWrites = [];
  const sparkP99 = [];

  function headers(extra) {
    const h = Object.assign({}, extra || {});
    if (apiKey) h.Authorization = 'Bearer ' + apiKey;
    return h;
  }

  async function problemText(response) {
    try {
      const body = await response.json();
      return body.detail || body.title || response.statusText;
    } catch {
      return response.status + ' ' + response.statusText;
    }
  }

  function cell(row, text) {
    const td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '' : String(text);
    row.appendChild(td);
    return td;
  }

  // A SQL value as the query answered it: NULL marked apart from '' (and from the string 'NULL'), and
  // STRUCT, MAP and LIST values as their JSON text rather than '[object Object]' or '1,2'.
  function valueCell(row, value) {
    if (value === null || value === undefined) {
      const td = cell(row, 'NULL');
      td.className = 'null';
      return td;
    }
    return cell(row, typeof value === 'object' && !(value instanceof ExactNumber) ? jsonText(value) : value);
  }

  // ---- Exact numbers -------------------------------------------------------------------------
  // The API sends quantities, prices, notionals, seqs and query values (DECIMAL, BIGINT, DOUBLE) as JSON numbers with
  // their exact digits. JSON.parse would round them through a double (1234567890.12345678 -> 1234567890.1234567,
  // 9007199254740993 -> 9007199254740992, 1.00000000 -> 1), so answers are read with parseExact, which keeps every
  // number as the text the server sent.
  class ExactNumber {
    constructor(text) {
      this.text = text;
    }

    toString() {
      return this.text;
    }
  }

  // JSON.parse source text access (TC39; Chrome 114, Firefox 135): the reviver's third argument holds a number's text.
  const SOURCE_TEXT = (() => {
    try {
      return JSON.parse('[1.10]', (key, value, context) => (typeof value === 'number' && context ? context.source : value))[0] === '1.10';
    } catch {
      return false;
    }
  })();

  function parseExact(text) {
    return SOURCE_TEXT
      ? JSON.parse(text, (key, value, context) => (typeof value === 'number' ? new ExactNumber(context.source) : value))
      : parseExactWithoutSourceText(text);
  }

  // For a browser whose JSON.parse gives no source text: a small reader of the same grammar (strings, escapes included,
  // are still decoded by JSON.parse). It throws SyntaxError on what JSON.parse would refuse.
  const JSON_TOKEN = /[ \t\n\r]*(?:([{}[\],:])|("(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*")|(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)|(true|false|null))/y;

  function parseExactWithoutSourceText(text) {
    let at = 0;
    let tokenAt = 0;
    const fail = () => {
      throw new SyntaxError('not JSON at position ' + tokenAt);
    };
    const next = () => {
      tokenAt = at;
      JSON_TOKEN.lastIndex = at;
      const token = JSON_TOKEN.exec(text) || fail();
      at = JSON_TOKEN.lastIndex;
      return token;
    };
    const value = (token) => {
      if (token[2]) return JSON.parse(token[2]);
      if (token[3]) return new ExactNumber(token[3]);
      if (token[4]) return token[4] === 'null' ? null : token[4] === 'true';
      if (token[1] === '[') {
        const list = [];
        let t = next();
        while (t[1] !== ']') {
          if (list.length) {
            if (t[1] !== ',') fail();
            t = next();
          }
          list.push(value(t));
          t = next();
        }
        return list;
      }
      if (token[1] === '{') {
        const object = {};
        let t = next();
        let first = true;
        while (t[1] !== '}') {
          if (!first) {
            if (t[1] !== ',') fail();
            t = next();
          }
          first = false;
          if (!t[2] || next()[1] !== ':') fail();
          // An own property, as JSON.parse makes it (a key "__proto__" must not set the prototype).
          Object.defineProperty(object, JSON.parse(t[2]), { value: value(next()), enumerable: true, writable: true, configurable: true });
          t = next();
        }
        return object;
      }
      return fail();
    };
    const result = value(next());
    tokenAt = at;
    if (!/^[ \t\n\r]*$/.test(text.slice(at))) fail();
    return result;
  }

  // JSON text of a parsed value, its numbers with their exact digits (JSON.stringify would quote or round them).
  function jsonText(value) {
    if (value instanceof ExactNumber) return value.text;
    if (Array.isArray(value)) return '[' + value.map(jsonText).join(',') + ']';
    if (value !== null && typeof value === 'object') {
      return '{' + Object.keys(value).map((key) => JSON.stringify(key) + ':' + jsonText(value[key])).join(',') + '}';
    }
    return JSON.stringify(value);
  }

  // ---- Reading an answer ---------------------------------------------------------------------
  // A streamed JSON query answer that failed after its first byte ends with `],"error":{problem}`, the object left
  // open (docs/api.md, streamed answers): the problem's detail, or null when the text does not end so.
  const STREAMED_ERROR = '],"error":';

  function streamedProblem(text) {
    const at = text.lastIndexOf(STREAMED_ERROR);
    if (at < 0) return null;
    try {
      const problem = JSON.parse(text.slice(at + STREAMED_ERROR.length));
      return problem.detail || problem.title || null;
    } catch {
      return null;
    }
  }

  // One API request whose JSON answer is read with exact numbers: { value }, or { error } saying what went wrong, for
  // the panel to show (the server unreachable, a problem answer, the connection lost while the answer came, a body that
  // is not JSON, a streamed query answer that ended with its problem).
  async function fetchExact(url, init) {
    let response;
    try {
      response = await fetch(url, init);
    } catch {
      return { error: 'server unreachable' };
    }
    if (!response.ok) return { error: `${response.status}: ${await problemText(response)}` };
    let text;
    try {
      text = await response.text();
    } catch {
      return { error: 'connection lost while the answer came' };
    }
    try {
      return { value: parseExact(text) };
    } catch (error) {
      const problem = streamedProblem(text);
      return { error: problem ? 'failed after the answer had started: ' + problem : 'the answer is not JSON: ' + error.message };
    }
  }

  function setPanelState(id, text, error) {
    $(id).textContent = text;
    $(id).className = error ? 'error' : 'muted';
  }

  // Seconds from a Retry-After header (a number of seconds or an HTTP date), or null.
  function retryAfterSeconds(response) {
    const value = response.headers.get('Retry-After');
    if (!value) return null;
    if (/^\d+$/.test(value.trim())) return Number(value.trim());
    const at = Date.parse(value);
    return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
  }

  // ---- API key -------------------------------------------------------------------------------
  // The key is checked against the API (GET /v1/positions of an account no key holds: an empty 200 for any valid key
  // that may read every account, 403 for one limited to its accounts, 401 for a wrong one), so the header says what
  // the server made of it rather than what was typed.
  const KEY_CHECK = '../v1/positions?account=' + encodeURIComponent('console.key-check');

  function setKeyState(text, error) {
    $('key-state').textContent = text;
    $('key-state').className = error ? 'error' : 'muted';
  }

  async function checkKey() {
    const typed = apiKey;
    setKeyState(typed ? 'checking key…' : 'no key: checking…');
    let response;
    try {
      response = await fetch(KEY_CHECK, { headers: headers(), cache: 'no-store' });
    } catch {
      setKeyState(typed ? 'key not checked: server unreachable' : 'no key; server unreachable', true);
      return;
    }
    if (typed !== apiKey) return; // another key was entered meanwhile
    if (response.status === 401) {
      const detail = await problemText(response);
      if (typed) {
        // Dropped, not only left out of storage (a reload would send it again): the polls and the feed go on without
        // a key, which a loopback caller may use, rather than sending the refused one every 2 s.
        sessionStorage.removeItem(KEY_STORAGE);
        apiKey = '';
        setKeyState('key refused (401), not used: ' + detail, true);
        feed.restart();
      } else {
        setKeyState('no key: this server needs one (401)', true);
      }
      return;
    }
    if (!typed) {
      setKeyState('no key (loopback default)');
    } else if (response.ok) {
      setKeyState('key accepted, kept for this tab');
    } else if (response.status === 403) {
      setKeyState('key accepted (limited to its accounts), kept for this tab');
    } else {
      setKeyState(`key kept for this tab (${response.status}: ${await problemText(response)})`, true);
    }
  }

  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    apiKey = $('api-key').value.trim();
    if (apiKey) sessionStorage.setItem(KEY_STORAGE, apiKey); else sessionStorage.removeItem(KEY_STORAGE);
    $('api-key').value = '';
    checkKey();
    feed.restart();
    poll();
  });

  // ---- Health --------------------------------------------------------------------------------
  // DuckDB, Redis and ClickHouse always have a row; the cluster row shows only on a cluster node (when reported).
  const DEPENDENCIES = ['duckdb', 'redis', 'clickhouse', 'cluster'];

  function badge(element, status) {
    element.textContent = status;
    element.className = 'status ' + status;
  }

  async function pollHealth() {
    try {
      // With the key: the server writes each check's description only for an authenticated caller.
      const response = await fetch('../health/ready', { headers: headers(), cache: 'no-store' });
      const report = await response.json();
      badge($('health-overall'), report.status || 'unknown');
      for (const dep of DEPENDENCIES) {
        const entry = (report.dependencies || {})[dep];
        if (dep === 'cluster') $('dep-row-cluster').hidden = !entry;
        badge($('dep-' + dep), (entry || { status: 'unknown' }).status);
        $('desc-' + dep).textContent = (entry && entry.description) || '';
      }
    } catch (error) {
      badge($('health-overall'), 'unreachable');
      $('health-overall').className = 'status unhealthy';
      for (const dep of DEPENDENCIES) {
        $('dep-' + dep).textContent = 'unreachable';
        $('dep-' + dep).className = 'status unhealthy';
        // The last descriptions are stale now: say nothing rather than something old.
        $('desc-' + dep).textContent = '';
      }
    }
  }

  // ---- Metrics -------------------------------------------------------------------------------
  // Prometheus text format: `name{label="value",…} number`.
  function parseMetrics(text) {
    const samples = [];
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
      if (!match) continue;
      const labels = {};
      if (match[3]) {
        for (const pair of match[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
      }
      samples.push({ name: match[1], labels, value: Number(match[4]) });
    }
    return samples;
  }

  function sum(samples, name, filter) {
    let total = null;
    for (const s of samples) {
      if (s.name === name && (!filter || filter(s.labels))) total = (total || 0) + s.value;
    }
    return total;
  }

  // Cumulative bucket counts by upper bound, summed over every other label.
  function buckets(samples, name) {
    const byLe = new Map();
    for (const s of samples) {
      if (s.name !== name) continue;
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      byLe.set(le, (byLe.get(le) || 0) + s.value);
    }
    return [...byLe.entries()].sort((a, b) => a[0] - b[0]);
  }

  // Prometheus' histogram_quantile: linear interpolation inside the bucket that holds the rank.
  function quantile(q, now, before) {
    if (!now.length) return null;
    const counts = now.map(([le, count], i) => [le, count - (before && before[i] ? before[i][1] : 0)]);
    const total = counts[counts.length - 1][1];
    if (!(total > 0)) return null;
    const rank = q * total;
    let lower = 0, below = 0;
    for (const [le, count] of counts) {
      if (count >= rank) {
        if (le === Infinity) return lower;
        return lower + (le - lower) * ((rank - below) / Math.max(count - below, 1e-9));
      }
      lower = le;
      below = count;
    }
    return lower;
  }

  function format(value, digits) {
    return value === null || value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits);
  }

  function drawSpark() {
    const line = (values, max) => values.map((v, i) => `${(i * 300) / (SPARK_POINTS - 1)},${60 - (max > 0 ? (v / max) * 56 : 0) - 2}`).join(' ');
    $('spark-writes').setAttribute('points', line(sparkWrites, Math.max(...sparkWrites, 1)));
    $('spark-p99').setAttribute('points', line(sparkP99, Math.max(...sparkP99, 1)));
  }

  async function pollMetrics() {
    const sentKey = apiKey; // a refused key is dropped meanwhile: say what this request carried
    let response;
    try {
      response = await fetch('../metrics', { headers: headers(), cache: 'no-store' });
    } catch {
      $('metrics-state').textContent = 'metrics unreachable';
      return;
    }

    if (!response.ok) {
      // 401 is the key itself (refused, or missing where one is needed); 403 a valid key that Security:Metrics does not let read.
      const why = response.status === 401
        ? (sentKey ? 'the key was refused' : 'this server needs a key')
        : response.status === 403
          ? 'this key may not read metrics (Security:Metrics: loopback callers and admin keys by default, admin keys only with Admin)'
          : await problemText(response);
      $('metrics-state').textContent = `/metrics: ${response.status}, ${why}`;
      return;
    }

    const samples = parseMetrics(await response.text());
    const scrape = {
      at: performance.now(),
      writes: sum(samples, 'tradestore_write_commands_total', (l) => l.outcome === 'applied') || 0,
      ack: buckets(samples, 'tradestore_write_ack_latency_seconds_bucket'),
    };
    $('metrics-state').textContent = '';
    if (previousScrape) {
      const seconds = (scrape.at - previousScrape.at) / 1000;
      const rate = Math.max(0, (scrape.writes - previousScrape.writes) / seconds);
      const p50 = quantile(0.5, scrape.ack, previousScrape.ack);
      const p99 = quantile(0.99, scrape.ack, previousScrape.ack);
      // One decimal below 10 writes/s, so a trickle (0.4/s) does not read as none.
      $('writes-per-second').textContent = format(rate, rate < 10 ? 1 : 0);
      $('ack-p50').textContent = p50 === null ? '–' : format(p50 * 1000, 2);
      $('ack-p99').textContent = p99 === null ? '–' : format(p99 * 1000, 2);
      sparkWrites.push(rate);
      sparkP99.push(p99 === null ? 0 : p99 * 1000);
      while (sparkWrites.length > SPARK_POINTS) sparkWrites.shift();
      while (sparkP99.length > SPARK_POINTS) sparkP99.shift();
      drawSpark();
    }

    const redisEvents = sum(samples, 'tradestore_redis_lag_events');
    const redisLag = sum(samples, 'tradestore_redis_lag_seconds');
    $('redis-lag-events').textContent = redisEvents === null ? 'disabled' : format(redisEvents, 0);
    $('redis-lag').textContent = redisLag === null ? '–' : format(redisLag, 3) + ' s';
    const clickHouseEvents = sum(samples, 'tradestore_sync_events_behind');
    // The age of the oldest event not yet in ClickHouse, like Redis's: the delivered p99 alone shows nothing while events wait.
    const clickHouseAge = sum(samples, 'tradestore_sync_pending_age_seconds');
    const syncLag = buckets(samples, 'tradestore_sync_lag_seconds_bucket');
    const syncP99 = previousScrape ? quantile(0.99, syncLag, previousScrape.sync) : null;
    $('clickhouse-lag-events').textContent = clickHouseEvents === null ? 'disabled' : format(clickHouseEvents, 0);
    $('clickhouse-lag').textContent = clickHouseAge === null ? '–'
      : format(clickHouseAge, 3) + ' s' + (syncP99 === null ? '' : ' (delivered p99 ' + format(syncP99, 3) + ' s)');
    scrape.sync = syncLag;
    previousScrape = scrape;
  }

  // ---- Live change feed (Server-Sent Events over fetch, so the key can go in a header) -----------
  const feed = (() => {
    let controller = null;
    let lastEventId = null;
    let fromSeq = null; // where the first connection starts: the last FEED_ROWS events before the page opened
    let retryTimer = null;

    // The journal's last seq: TradeStore-Seq, on every answer past authentication (here the key check's cheap GET).
    // Null when the answer has none (a refused key: the feed itself then says why).
    async function headSeq(signal) {
      const response = await fetch(KEY_CHECK, { headers: headers(), signal, cache: 'no-store' });
      const seq = response.headers.get('TradeStore-Seq');
      return seq && /^\d+$/.test(seq) ? BigInt(seq) : null;
    }

    function addRow(change) {
      const trade = change.trade || {};
      const row = document.createElement('tr');
      row.dataset.tradeId = trade.tradeId;
      cell(row, change.seq);
      cell(row, (change.recordedAt || '').replace('T', ' ').replace('Z', ''));
      cell(row, change.type);
      cell(row, trade.tradeId);
      cell(row, trade.account);
      cell(row, trade.symbol);
      cell(row, trade.side);
      // A fill's row shows its execution; the trade's own quantity and price are the order's terms, not what traded.
      const fill = change.type === 'fill';
      cell(row, fill ? change.lastQuantity : trade.quantity);
      cell(row, fill ? change.lastPrice : trade.price);
      cell(row, trade.status);
      const body = $('feed-rows');
      body.insertBefore(row, body.firstChild);
      while (body.rows.length > FEED_ROWS) body.deleteRow(body.rows.length - 1);
    }

    function dispatch(event) {
      if (event.type === 'error') {
        const end = parseExact(event.data);
        lastEventId = String(BigInt(String(end.resumeFromSeq)) - 1n);
        $('feed-state').textContent = end.title + ': resuming';
        return;
      }
      if (event.id) lastEventId = event.id;
      addRow(parseExact(event.data));
    }

    // Back-off between attempts after a refusal or a lost connection: 1 s, doubling to 30 s, or the server's
    // Retry-After when it is longer; back to 1 s once the stream is live again.
    const FIRST_RETRY_MS = 1000;
    const MAX_RETRY_MS = 30000;
    let retryMs = FIRST_RETRY_MS;
    let countdown = null;

    function setState(text, className) {
      $('feed-state').textContent = text;
      $('feed-state').className = className;
    }

    // Outcomes of one attempt: 'ended' (the stream closed: reconnect), { retryAfter, reason } (refused for now:
    // back off) or { stop } (the key cannot read the feed: retrying would not help).
    async function run(signal) {
      const h = headers({ Accept: 'text/event-stream' });
      let url = '../v1/changes';
      if (lastEventId !== null) {
        h['Last-Event-ID'] = lastEventId;
      } else {
        // Not yet an event: start with the last FEED_ROWS of the journal, so the panel is filled at once.
        if (fromSeq === null) {
          const head = await headSeq(signal);
          if (head !== null) fromSeq = head > BigInt(FEED_ROWS) ? head - BigInt(FEED_ROWS - 1) : 1n;
        }
        if (fromSeq !== null) url += '?fromSeq=' + fromSeq;
      }
      const response = await fetch(url, { headers: h, signal, cache: 'no-store' });
      if (!response.ok) {
        const reason = `${response.status}: ${await problemText(response)}`;
        if (response.status === 401 || response.status === 403) return { stop: reason };
        return { retryAfter: retryAfterSeconds(response), reason };
      }

      retryMs = FIRST_RETRY_MS;
      setState('live', 'muted');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let event = { type: 'message', data: '', id: null };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return 'ended';
        buffer += value;
        let newline;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).replace(/\r$/, '');
          buffer = buffer.slice(newline + 1);
          if (line === '') {
            if (event.data) dispatch(event);
            else if (event.id) lastEventId = event.id; // the stream's opening id: where it began, for a reconnect before any event
            event = { type: 'message', data: '', id: null };
          } else if (!line.startsWith(':')) {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const data = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'data') event.data += (event.data ? '\n' : '') + data;
            else if (field === 'event') event.type = data;
            else if (field === 'id') event.id = data;
          }
        }
      }
    }

    // Waits, showing 'reason: reconnecting in N s' counting down, then starts again from the last event id.
    function retryLater(reason, retryAfter) {
      const waitMs = Math.max(retryMs, retryAfter === null || retryAfter === undefined ? 0 : retryAfter * 1000);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      const due = Date.now() + waitMs;
      const show = () => setState(`${reason}: reconnecting in ${Math.max(1, Math.ceil((due - Date.now()) / 1000))} s`, 'error');
      show();
      countdown = setInterval(show, 1000);
      retryTimer = setTimeout(() => {
        clearInterval(countdown);
        setState('reconnecting…', 'muted');
        start();
      }, waitMs);
    }

    function start() {
      controller = new AbortController();
      const signal = controller.signal;
      run(signal).then((outcome) => {
        if (signal.aborted) return;
        if (outcome === 'ended') {
          retryTimer = setTimeout(start, FIRST_RETRY_MS);
        } else if (outcome.stop) {
          setState(`${outcome.stop}: stopped (enter a key that may read the feed)`, 'error');
        } else {
          retryLater(outcome.reason, outcome.retryAfter);
        }
      }, () => {
        if (signal.aborted) return;
        retryLater('disconnected', null);
      });
    }

    function restart() {
      if (controller) controller.abort();
      clearTimeout(retryTimer);
      clearInterval(countdown);
      retryMs = FIRST_RETRY_MS;
      setState('connecting…', 'muted');
      start();
    }

    return { start, restart };
  })();

  // ---- Positions -----------------------------------------------------------------------------
  $('positions-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const account = $('positions-account').value.trim();
    const body = $('positions-rows');
    body.textContent = '';
    // Blanks pass the field's `required`: asking without an account would list every account's positions under their
    // symbols alone, read as one book. Refused here as the API refuses `account=` (a filter must not widen by mistake).
    if (!account) {
      setPanelState('positions-state', 'enter an account', true);
      return;
    }

    setPanelState('positions-state', 'loading…');
    // The API answers pages (Api:DefaultPageSize positions each): follow nextCursor so an account trading more symbols
    // than a page is shown whole, not cut at the first page.
    const path = '../v1/positions?account=' + encodeURIComponent(account);
    const items = [];
    let cursor = null;
    do {
      const answer = await fetchExact(cursor === null ? path : path + '&cursor=' + encodeURIComponent(cursor), { headers: headers() });
      const page = answer.value;
      if (!page || !Array.isArray(page.items)) {
        setPanelState('positions-state', answer.error || 'unexpected answer: no items', true);
        return;
      }
      items.push(...page.items);
      cursor = typeof page.nextCursor === 'string' ? page.nextCursor : null;
    } while (cursor !== null);

    setPanelState('positions-state', items.length ? '' : 'no positions for ' + account);
    for (const p of items) {
      const row = document.createElement('tr');
      cell(row, p.symbol);
      cell(row, p.netQuantity);
      cell(row, p.averagePrice);
      cell(row, `${p.boughtQuantity} (${p.boughtNotional})`);
      cell(row, `${p.soldQuantity} (${p.soldNotional})`);
      body.appendChild(row);
    }
  });

  // ---- SQL -----------------------------------------------------------------------------------
  $('sql-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const table = $('sql-result');
    table.tHead.textContent = '';
    table.tBodies[0].textContent = '';
    setPanelState('sql-state', 'running…');
    const answer = await fetchExact('../v1/query', {
      method: 'POST',
      headers: headers({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ sql: $('sql-text').value }),
    });
    const result = answer.value;
    if (!result || !Array.isArray(result.columns) || !Array.isArray(result.rows)) {
      setPanelState('sql-state', answer.error || 'unexpected answer: no columns and rows', true);
      return;
    }

    const head = document.createElement('tr');
    for (const column of result.columns) {
      const th = document.createElement('th');
      th.textContent = column.name;
      th.title = column.type;
      head.appendChild(th);
    }
    table.tHead.appendChild(head);
    for (const values of result.rows) {
      const row = document.createElement('tr');
      for (const value of values) valueCell(row, value);
      table.tBodies[0].appendChild(row);
    }
    setPanelState('sql-state', `${result.rowCount} row(s)${result.truncated ? ' (truncated)' : ''}`);
  });

  // ---- Start ---------------------------------------------------------------------------------
  async function poll() {
    await Promise.all([pollHealth(), pollMetrics()]);
  }

  checkKey();
  feed.start();
  poll();
  setInterval(poll, POLL_MS);
})();
