// Shared by the end-to-end tests: the built package (npm/dist, made by
// `node npm/build.mjs`), temporary folders, and Python's sqlite3 as the oracle.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export { connect, Database, Statement, SqliteError } from "../../../npm/dist/index.js";

export function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "limbodb-js-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Run Python code with sys.argv[1:] = args; returns its stdout as JSON.
export function python(code, ...args) {
  const out = execFileSync(process.env.PYTHON_ORACLE ?? "python3", ["-c", code, ...args], { encoding: "utf8" });
  return JSON.parse(out);
}

// PRAGMA integrity_check and every row of `table` (blobs as byte arrays), as read by sqlite3.
export function sqlite3Read(file, table) {
  return python(
    `import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
ok = c.execute("pragma integrity_check").fetchall()
rows = c.execute("select * from " + sys.argv[2]).fetchall()
c.close()
print(json.dumps({"check": [r[0] for r in ok], "rows": [[list(v) if isinstance(v, bytes) else v for v in r] for r in rows]}))`,
    file,
    table,
  );
}

// The wheel and Pyodide that npm/dist uses, for tests that assemble an engine themselves.
export async function pyodideParts() {
  const { loadPyodide } = await import(new URL("../../../npm/node_modules/pyodide/pyodide.mjs", import.meta.url));
  const wheel = fs.readFileSync(new URL("../../../npm/dist/limbodb.whl", import.meta.url));
  return { loadPyodide, wheel };
}
