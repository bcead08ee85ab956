// The JavaScript benchmark: limbodb (Pyodide) next to @tursodatabase/database
// (native, Rust) and sql.js (SQLite compiled to wasm) in one Node process.
//
//   node tests/bench/bench_js.mjs [--rows N] [--lookups N] [--repeat N] [--only ENGINE]...
//
// Workloads (each engine gets a fresh database file in a temp folder; sql.js
// can only hold its database in memory, so its numbers never touch the disk):
//   first_row   from import() of the package to the first row of `select 1` (cold: done first)
//   open        open a new database file and create the table
//   insert      N rows with a prepared statement, in one BEGIN ... COMMIT
//   select_pk   --lookups point selects by rowid (integer primary key)
//   select_idx  --lookups point selects through an index on a text column
//   scan        one full scan returning every row, and an aggregate over the table
// Read-only workloads are the best of --repeat runs. Ratios are engine / turso.
// limbodb and the other two are resolved from npm/ (npm/dist must be built:
// `node npm/build.mjs`; the others are devDependencies of npm/package.json).

import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const requireFromNpm = createRequire(path.join(repo, "npm", "package.json"));

function parseArgs(argv) {
  const opts = { rows: 10000, lookups: 1000, repeat: 3, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (key === "--rows") opts.rows = Number(value);
    else if (key === "--lookups") opts.lookups = Number(value);
    else if (key === "--repeat") opts.repeat = Number(value);
    else if (key === "--only") opts.only.push(value);
    else throw new Error(`unknown option ${key}`);
    i++;
  }
  return opts;
}

const textOf = (i) => `row ${i} ${"x".repeat(i % 40)}`;

// The Promise-based API that limbodb and @tursodatabase/database share.
function promiseEngine(name, importModule) {
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

function sqljsEngine() {
  const load = async () => {
    const initSqlJs = (await import(pathToFileURL(requireFromNpm.resolve("sql.js")).href)).default;
    return initSqlJs();
  };
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

const ENGINES = {
  turso: () => promiseEngine("turso", () => import(pathToFileURL(requireFromNpm.resolve("@tursodatabase/database")).href)),
  limbodb: () => promiseEngine("limbodb", () => import(pathToFileURL(path.join(repo, "npm", "dist", "index.js")).href)),
  "sql.js": sqljsEngine,
};

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

async function measure(engine, opts, dir) {
  const times = {};
  const answers = {};
  [times.first_row] = await seconds(() => engine.firstRow());
  [times.open] = await seconds(() => engine.open(path.join(dir, `${engine.name}.db`)));
  [times.insert] = await seconds(() => engine.insert(opts.rows));
  const lookups = keys(opts.lookups, opts.rows);
  [times.select_pk, answers.select_pk] = await best(opts.repeat, () => engine.selectByKey(lookups));
  [times.select_idx, answers.select_idx] = await best(opts.repeat, () => engine.selectByIndex(lookups));
  [times.scan, answers.scan] = await best(opts.repeat, () => engine.scan());
  await engine.close();
  return { times, answers };
}

const fmt = (t) => (t === undefined ? "-" : t.toFixed(4));

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const names = opts.only.length ? opts.only : Object.keys(ENGINES);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "limbodb-bench-js-"));
  const results = {};
  try {
    for (const name of names) {
      if (!ENGINES[name]) throw new Error(`unknown engine ${name}; known: ${Object.keys(ENGINES).join(", ")}`);
      results[name] = await measure(ENGINES[name](), opts, dir);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`rows=${opts.rows} lookups=${opts.lookups} repeat=${opts.repeat} node ${process.version}`);
  const workloads = Object.keys(results[names[0]].times);
  const header = ["workload", ...names.map((n) => `${n} s`)];
  const base = results.turso;
  if (base) header.push(...names.filter((n) => n !== "turso").map((n) => `${n}/turso`));
  header.push("answers");
  console.log(header.map((h, i) => (i === 0 ? h.padEnd(12) : h.padStart(14))).join(""));
  for (const w of workloads) {
    const cells = [w.padEnd(12), ...names.map((n) => fmt(results[n].times[w]).padStart(14))];
    if (base) {
      for (const n of names.filter((n) => n !== "turso")) {
        cells.push(`${(results[n].times[w] / base.times[w]).toFixed(1)}x`.padStart(14));
      }
    }
    const seen = new Set(names.map((n) => JSON.stringify(results[n].answers[w])));
    cells.push(results[names[0]].answers[w] === undefined ? "" : seen.size === 1 ? "  equal" : "  DIFFER");
    console.log(cells.join(""));
  }
  const differ = workloads.some((w) => new Set(names.map((n) => JSON.stringify(results[n].answers[w]))).size > 1);
  if (differ) {
    console.log(JSON.stringify(Object.fromEntries(names.map((n) => [n, results[n].answers]))));
    process.exitCode = 1;
  }
}

await main();
