// The JavaScript benchmark: limbodb (Pyodide) next to @tursodatabase/database
// (native, Rust) and sql.js (SQLite compiled to wasm) in one Node process.
//
//   node tests/bench/bench_js.mjs [--rows N] [--lookups N] [--repeat N] [--only ENGINE]...
//
// The workloads are in bench_js_workloads.mjs (shared with bench_browser.mjs,
// which runs them in a browser page); each engine gets a fresh database file in
// a temp folder (sql.js can only hold its database in memory, so its numbers
// never touch the disk). Ratios are engine / turso.
// limbodb and the other two are resolved from npm/ (npm/dist must be built:
// `node npm/build.mjs`; the others are devDependencies of npm/package.json).

import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { measure, parseArgs, promiseEngine, report, sqljsEngine } from "./bench_js_workloads.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const requireFromNpm = createRequire(path.join(repo, "npm", "package.json"));

async function loadSqlJs() {
  const initSqlJs = (await import(pathToFileURL(requireFromNpm.resolve("sql.js")).href)).default;
  return initSqlJs();
}

const ENGINES = {
  turso: () => promiseEngine("turso", () => import(pathToFileURL(requireFromNpm.resolve("@tursodatabase/database")).href)),
  limbodb: () => promiseEngine("limbodb", () => import(pathToFileURL(path.join(repo, "npm", "dist", "index.js")).href)),
  "sql.js": () => sqljsEngine(loadSqlJs),
};

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const names = opts.only.length ? opts.only : Object.keys(ENGINES);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "limbodb-bench-js-"));
  const results = {};
  try {
    for (const name of names) {
      if (!ENGINES[name]) throw new Error(`unknown engine ${name}; known: ${Object.keys(ENGINES).join(", ")}`);
      results[name] = await measure(ENGINES[name](), opts, path.join(dir, `${name}.db`));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`rows=${opts.rows} lookups=${opts.lookups} repeat=${opts.repeat} node ${process.version}`);
  const { lines, differ } = report(results, "turso");
  for (const line of lines) console.log(line);
  if (differ) process.exitCode = 1;
}

await main();
