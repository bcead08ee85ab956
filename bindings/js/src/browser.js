// limbodb in a browser: `import { connect } from "limbodb"` (the "browser" export).
//
// On a page, connect() talks to one dedicated worker (worker.js) that runs
// Pyodide and limbodb on the Origin Private File System; the API is the same
// Promise-based one as in Node. Inside a dedicated worker, connect() runs the
// engine in that worker directly. Files persist in OPFS across reloads; a
// database another tab holds open fails with SQLITE_BUSY "database is locked".
// Options: readonly, fileMustExist, defaultSafeIntegers, and pyodideURL /
// wheelURL where Pyodide or the wheel are served from elsewhere.

import { Database } from "./database.js";
import { RemoteEngine } from "./protocol.js";
import { createOpfsEngine } from "./opfs.js";
import { loadRuntime } from "./browser-runtime.js";

export { Database } from "./database.js";
export { Statement } from "./statement.js";
export { SqliteError } from "./sqlite-error.js";

let enginePromise = null;

function inWorker() {
  return typeof WorkerGlobalScope !== "undefined" && globalThis instanceof WorkerGlobalScope;
}

function startEngine(options) {
  const init = { pyodideURL: options.pyodideURL, wheelURL: options.wheelURL };
  enginePromise ??= inWorker()
    ? loadRuntime(init).then(createOpfsEngine)
    : Promise.resolve(new RemoteEngine(new Worker(new URL("./worker.js", import.meta.url), { type: "module" }), init));
  return enginePromise;
}

export async function connect(path, options = {}) {
  const db = new Database(await startEngine(options), path, options);
  return db._connect();
}
