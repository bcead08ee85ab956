// Run by test_browser.py in headless Chromium: ?step=write creates and fills a
// database in OPFS, checks that another tab's worker cannot acquire its files,
// closes it and posts the file's bytes; ?step=reload (a new browser process on
// the same profile) finds the rows again. Every outcome is POSTed to /result.

import { connect } from "/node_modules/limbodb/dist/browser.js";

// Another tab's worker trying to open the same database's OPFS files (what
// the package's worker does first on open, before Python reads a byte).
const OTHER_TAB = `
import { OpfsFiles } from "${location.origin}/node_modules/limbodb/dist/opfs.js";
try {
  await new OpfsFiles(await navigator.storage.getDirectory()).acquire("notes.db");
  postMessage({ opened: true });
} catch (e) {
  postMessage({ name: e.name, code: e.code, message: e.message });
}`;

function otherTab() {
  const url = URL.createObjectURL(new Blob([OTHER_TAB], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  return new Promise((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => resolve({ error: e.message });
  });
}

const post = (path, body) => fetch(path, { method: "POST", body });

async function write() {
  const db = await connect("notes.db");
  await db.exec("create table notes(id integer primary key, body text)");
  const ins = db.prepare("insert into notes(body) values (?)");
  for (let i = 0; i < 20; i++) await ins.run(`note ${i}`);
  const rows = await db.all("select id, body from notes order by id");

  const busy = await otherTab();
  await db.close();

  const root = await navigator.storage.getDirectory();
  const file = await (await root.getFileHandle("notes.db")).getFile();
  await post("/export", await file.arrayBuffer());
  return { count: rows.length, first: rows[0], busy };
}

async function reload() {
  const db = await connect("notes.db", { fileMustExist: true });
  const rows = await db.all("select id, body from notes order by id");
  await db.close();
  return { count: rows.length, last: rows.at(-1) };
}

const step = new URL(location.href).searchParams.get("step");
try {
  const result = await (step === "write" ? write() : reload());
  await post("/result", JSON.stringify({ ok: true, step, result }));
} catch (e) {
  await post("/result", JSON.stringify({ ok: false, step, error: `${e.name}: ${e.message}\n${e.stack}` }));
}
