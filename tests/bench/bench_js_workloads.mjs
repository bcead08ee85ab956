// The JavaScript benchmark's workloads and report, shared by bench_js.mjs
// (Node) and bench_browser.mjs (a headless Chromium page): nothing here needs
// Node, so a page imports this file as it is.
//
// Workloads (each engine gets a fresh database; sql.js holds its own in memory):
//   first_row   from import() of the package to the first row of `select 1` (cold: done first)
//   open        open a new database file and create the table
//   insert      N rows with a prepared statement, in one BEGIN ... COMMIT
//   select_pk   --lookups point selects by rowid (integer primary key)
//   select_idx  --lookups point selects through an index on a text column
//   scan        one full scan returning every row, and an aggregate over the table
// Read-only workloads are the best of --repeat runs.

// --rows N --lookups N --repeat N --only ENGINE..., and --NAME VALUE for each key of
// `extra` (a script's own options, with their defaults).
export function parseArgs(argv, extra = {}) {
  const opts = { rows: 10000, lookups: 1000, repeat: 3, only: [], ...extra };
  for (let i = 0; i < argv.length; i++) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (key === "--rows") opts.rows = Number(value);
    else if (key === "--lookups") opts.lookups = Number(value);
    else if (key === "--repeat") opts.repeat = Number(value);
    else if (key === "--only") opts.only.push(value);
    else if (key.startsWith("--") && Object.hasOwn(extra, key.slice(2))) opts[key.slice(2)] = value;
    else throw new Error(`unknown option ${key}`);
    i++;
  }
  return opts;
}

const textOf = (i) => `row ${i} ${"x".repeat(i % 40)}`;

// The Promise-based API that limbodb and @tursodatabase/database share.
export function promiseEngine(name, importModule) {
  return {
    name,
    async firstRow() {
      const { connect } = await importModule();
      const db = await connect(":memory:");
      const row = await db.prepare("select 1 as one").get();
      await db.close();
      if (row.one !== 1) throw new Error(`${name}: select 1 gave ${JSON.stringify(row)}`);
    },
    async open(file) {
      const { connect } = await importModule();
      this.db = await connect(file);
      await this.db.exec("create table t(a integer primary key, b text, c real); create index t_b on t(b)");
    },
    async insert(rows) {
      const stmt = this.db.prepare("insert into t(a, b, c) values (?, ?, ?)");
      await this.db.exec("begin");
      for (let i = 1; i <= rows; i++) await stmt.run(i, textOf(i), i / 7);
      await this.db.exec("commit");
    },
    async selectByKey(keys) {
      const stmt = this.db.prepare("select b from t where a = ?");
      let found = 0;
      for (const k of keys) if ((await stmt.get(k)) !== undefined) found++;
      return found;
    },
    async selectByIndex(keys) {
      const stmt = this.db.prepare("select a from t where b = ?");
      let found = 0;
      for (const k of keys) if ((await stmt.get(textOf(k))) !== undefined) found++;
      return found;
    },
    async scan() {
      const rows = await this.db.prepare("select a, b, c from t").all();
      const agg = await this.db.prepare("select count(*) as n, sum(length(b)) as len from t").get();
      return [rows.length, agg.n, agg.len];
    },
    async close() {
      await this.db.close();
    },
  };
}

// sql.js's synchronous API; load() resolves to what its initSqlJs() resolves to.
export function sqljsEngine(load) {
  const getOne = (stmt, params) => {
    stmt.bind(params);
    const row = stmt.step() ? stmt.get() : undefined;
    stmt.reset();
    return row;
  };
  return {
    name: "sql.js",
    async firstRow() {
      const SQL = await load();
      const db = new SQL.Database();
      const [[one]] = db.exec("select 1")[0].values;
      db.close();
      if (one !== 1) throw new Error(`sql.js: select 1 gave ${one}`);
    },
    async open() {
      const SQL = await load();
      this.db = new SQL.Database();
      this.db.run("create table t(a integer primary key, b text, c real); create index t_b on t(b)");
    },
    async insert(rows) {
      const stmt = this.db.prepare("insert into t(a, b, c) values (?, ?, ?)");
      this.db.run("begin");
      for (let i = 1; i <= rows; i++) stmt.run([i, textOf(i), i / 7]);
      this.db.run("commit");
      stmt.free();
    },
    async selectByKey(keys) {
      const stmt = this.db.prepare("select b from t where a = ?");
      let found = 0;
      for (const k of keys) if (getOne(stmt, [k]) !== undefined) found++;
      stmt.free();
      return found;
    },
    async selectByIndex(keys) {
      const stmt = this.db.prepare("select a from t where b = ?");
      let found = 0;
      for (const k of keys) if (getOne(stmt, [textOf(k)]) !== undefined) found++;
      stmt.free();
      return found;
    },
    async scan() {
      const stmt = this.db.prepare("select a, b, c from t");
      const rows = [];
      while (stmt.step()) rows.push(stmt.getAsObject());
      stmt.free();
      const [[n, len]] = this.db.exec("select count(*), sum(length(b)) from t")[0].values;
      return [rows.length, n, len];
    },
    async close() {
      this.db.close();
    },
  };
}

async function seconds(fn) {
  const t0 = performance.now();
  const result = await fn();
  return [(performance.now() - t0) / 1000, result];
}

async function best(repeat, fn) {
  let bestTime = Infinity;
  let result;
  for (let i = 0; i < repeat; i++) {
    const [t, r] = await seconds(fn);
    bestTime = Math.min(bestTime, t);
    result = r;
  }
  return [bestTime, result];
}

// A fixed pseudo-random sequence of keys, the same for every engine.
function keys(count, max) {
  let x = 12345;
  return Array.from({ length: count }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return 1 + (x % max);
  });
}

// Every workload on one engine, whose database file is `file`: {times, answers}.
export async function measure(engine, opts, file) {
  const times = {};
  const answers = {};
  [times.first_row] = await seconds(() => engine.firstRow());
  [times.open] = await seconds(() => engine.open(file));
  [times.insert] = await seconds(() => engine.insert(opts.rows));
  const lookups = keys(opts.lookups, opts.rows);
  [times.select_pk, answers.select_pk] = await best(opts.repeat, () => engine.selectByKey(lookups));
  [times.select_idx, answers.select_idx] = await best(opts.repeat, () => engine.selectByIndex(lookups));
  [times.scan, answers.scan] = await best(opts.repeat, () => engine.scan());
  await engine.close();
  return { times, answers };
}

const fmt = (t) => (t === undefined ? "-" : t.toFixed(4));

// The table of seconds per workload and engine, with each other engine's time over
// `base`'s (when `base` ran), and whether every engine's answers were equal.
// Returns {lines, differ}; `differ` adds a line with every engine's answers.
export function report(results, base) {
  const names = Object.keys(results);
  const others = results[base] ? names.filter((n) => n !== base) : [];
  const workloads = Object.keys(results[names[0]].times);
  const sameAnswers = (w) => new Set(names.map((n) => JSON.stringify(results[n].answers[w]))).size === 1;
  const header = ["workload", ...names.map((n) => `${n} s`), ...others.map((n) => `${n}/${base}`), "answers"];
  const width = header.map((h) => Math.max(14, h.length + 2));
  const lines = [header.map((h, i) => (i === 0 ? h.padEnd(12) : h.padStart(width[i]))).join("")];
  for (const w of workloads) {
    const cells = [w, ...names.map((n) => fmt(results[n].times[w]))];
    for (const n of others) cells.push(`${(results[n].times[w] / results[base].times[w]).toFixed(1)}x`);
    const row = cells.map((c, i) => (i === 0 ? c.padEnd(12) : c.padStart(width[i]))).join("");
    lines.push(row + (results[names[0]].answers[w] === undefined ? "" : sameAnswers(w) ? "  equal" : "  DIFFER"));
  }
  const differ = workloads.some((w) => !sameAnswers(w));
  if (differ) lines.push(JSON.stringify(Object.fromEntries(names.map((n) => [n, results[n].answers]))));
  return { lines, differ };
}
