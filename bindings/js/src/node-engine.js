// Starting limbodb in Node.js: one Pyodide instance per process, running
// limbodb in this thread, started by the first nodeEngine() call. Database
// files are host files reached through NodeIO (Node's synchronous fs calls,
// with a real fsync at every commit and a `<db>-lock` file that keeps a second
// process out); ":memory:" databases live in Python memory.
//
// Startup: booting Pyodide dominates (seconds). The first process saves a
// memory snapshot of Pyodide with limbodb imported in $LIMBODB_SNAPSHOT_DIR
// (default: the OS temp folder; empty: no snapshot), named by a hash of the
// wheel and the Pyodide version; later processes boot from it several times
// faster. A snapshot that fails to load is deleted and Pyodide boots normally.

import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { loadPyodide, version as pyodideVersion } from "pyodide";
import { LocalEngine, startBridge } from "./engine.js";

const SNAPSHOT_PREFIX = "limbodb-pyodide-";

let enginePromise = null;

function snapshotPath(wheel) {
  const dir = process.env.LIMBODB_SNAPSHOT_DIR ?? os.tmpdir();
  if (!dir) return null;
  const key = crypto.createHash("sha256").update(wheel).update(pyodideVersion).digest("hex").slice(0, 16);
  return path.join(dir, `${SNAPSHOT_PREFIX}${key}.snapshot`);
}

// Save the snapshot atomically, and remove those of other wheels.
function saveSnapshot(pyodide, file) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, pyodide.makeMemorySnapshot());
  fs.renameSync(tmp, file);
  const dir = path.dirname(file);
  for (const f of fs.readdirSync(dir)) {
    if (f.startsWith(SNAPSHOT_PREFIX) && f.endsWith(".snapshot") && path.join(dir, f) !== file) {
      fs.rmSync(path.join(dir, f), { force: true });
    }
  }
}

async function start(wheel, snapshot) {
  const restore = snapshot && fs.existsSync(snapshot) ? fs.readFileSync(snapshot) : null;
  const bridge = await startBridge({
    loadPyodide,
    wheel,
    pyodideOptions: restore ? { _loadSnapshot: restore } : { _makeSnapshot: Boolean(snapshot) },
    onImported: (pyodide) => {
      if (snapshot && !restore) {
        try {
          saveSnapshot(pyodide, snapshot);
        } catch {
          // A read-only or full temp folder only costs the next process its faster start.
        }
      }
    },
    makeFileIO: (pyodide) => pyodide.pyimport("limbodb.io.opfs.node").NodeIO(fs, process),
  });
  return new LocalEngine(bridge, { resolve: (p) => path.resolve(p) });
}

// The process's LocalEngine (a Promise), started on first use.
export function nodeEngine() {
  enginePromise ??= (async () => {
    const wheel = fs.readFileSync(new URL("./limbodb.whl", import.meta.url));
    const snapshot = snapshotPath(wheel);
    try {
      return await start(wheel, snapshot);
    } catch (err) {
      if (!snapshot || !fs.existsSync(snapshot)) throw err;
      fs.rmSync(snapshot, { force: true });
      return start(wheel, null);
    }
  })();
  enginePromise.catch(() => {
    enginePromise = null; // let a later connect() try again
  });
  return enginePromise;
}
