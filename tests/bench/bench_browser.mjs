// The JavaScript benchmark in a browser page: limbodb (its "browser" export:
// a dedicated worker running Pyodide, databases in the Origin Private File
// System) next to sql.js (SQLite compiled to wasm, in the page) in headless
// Chromium, driven through playwright-core.
//
//   node tests/bench/bench_browser.mjs [--rows N] [--lookups N] [--repeat N] [--only ENGINE]...
//                                      [--chromium PATH]
//
// The workloads are bench_js_workloads.mjs's, which the page imports as it is
// (the same as bench_js.mjs runs in Node); first_row is the time from import()
// of the package to the first row, so limbodb's includes starting its worker
// and booting Pyodide (no memory snapshot in a browser). Ratios are engine /
// sql.js. This script serves npm/dist and npm/node_modules (pyodide, sql.js)
// on 127.0.0.1 the way npm lays them out, and gives Chromium a fresh profile
// in a temp folder (OPFS on disk, not an incognito context's memory).
// Needs `node npm/build.mjs`, `npm ci` in npm/ and Debian's chromium.

import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, report } from "./bench_js_workloads.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..");
const { chromium } = createRequire(path.join(repo, "npm", "package.json"))("playwright-core");

const ENGINES = ["limbodb", "sql.js"];

// URL prefix -> folder, as npm installs the package beside its dependencies.
const ROUTES = [
  ["/node_modules/limbodb/dist/", path.join(repo, "npm", "dist")],
  ["/node_modules/pyodide/", path.join(repo, "npm", "node_modules", "pyodide")],
  ["/node_modules/sql.js/", path.join(repo, "npm", "node_modules", "sql.js")],
  ["/bench/", here],
];
const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };
const PAGE = '<!doctype html><meta charset="utf-8"><title>limbodb browser benchmark</title>';

function serve() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    if (url.pathname === "/") {
      res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
      return;
    }
    for (const [prefix, dir] of ROUTES) {
      if (!url.pathname.startsWith(prefix)) continue;
      const file = path.join(dir, decodeURIComponent(url.pathname.slice(prefix.length)));
      if (!file.startsWith(dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) break;
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
      fs.createReadStream(file).pipe(res);
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function findChromium() {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    for (const name of ["chromium", "chromium-browser"]) {
      const file = path.join(dir, name);
      if (fs.existsSync(file)) return file;
    }
  }
  throw new Error("chromium is not installed (apt-get install chromium), or give --chromium PATH");
}

// Runs in the page: every engine's workloads, one after the other.
async function runInPage({ names, opts }) {
  const { measure, promiseEngine, sqljsEngine } = await import("/bench/bench_js_workloads.mjs");
  let script = null;
  const loadSqlJs = () => {
    // sql.js's browser build is a classic script that defines the global initSqlJs.
    script ??= new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = "/node_modules/sql.js/dist/sql-wasm-browser.js";
      s.onload = resolve;
      s.onerror = () => reject(new Error("cannot load sql.js"));
      document.head.append(s);
    });
    return script.then(() => globalThis.initSqlJs({ locateFile: (f) => `/node_modules/sql.js/dist/${f}` }));
  };
  const engines = {
    limbodb: () => promiseEngine("limbodb", () => import("/node_modules/limbodb/dist/browser.js")),
    "sql.js": () => sqljsEngine(loadSqlJs),
  };
  const results = {};
  for (const name of names) results[name] = await measure(engines[name](), opts, `bench-${name}.db`);
  return results;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2), { chromium: null });
  const names = opts.only.length ? opts.only : ENGINES;
  for (const name of names) {
    if (!ENGINES.includes(name)) throw new Error(`unknown engine ${name}; known: ${ENGINES.join(", ")}`);
  }
  if (!fs.existsSync(path.join(repo, "npm", "dist", "limbodb.whl"))) throw new Error("npm/dist is not built: node npm/build.mjs");
  const server = await serve();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "limbodb-bench-browser-"));
  let context = null;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: opts.chromium ?? findChromium(),
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage", "--disable-background-networking"],
    });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const { rows, lookups, repeat } = opts;
    const results = await page.evaluate(runInPage, { names, opts: { rows, lookups, repeat } });
    const browser = (await page.evaluate(() => navigator.userAgent)).match(/Chrome\/[\d.]+/)?.[0] ?? "Chromium";
    console.log(`rows=${rows} lookups=${lookups} repeat=${repeat} headless ${browser}`);
    const { lines, differ } = report(results, "sql.js");
    for (const line of lines) console.log(line);
    if (differ) process.exitCode = 1;
  } finally {
    await context?.close();
    server.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

await main();
