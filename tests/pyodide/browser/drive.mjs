// Drives headless Chromium (Debian's, through playwright-core, a devDependency
// of npm/package.json) for test_browser.py:
//
//   node drive.mjs CHROMIUM PROFILE_DIR URL write|restart
//
// Every tab loads URL (page.html: the package imported as an application
// does, helpers in page.js) in one persistent browser profile, so tabs share
// one origin's OPFS. "write": tab A creates, fills and exports a database;
// tab B, a second real tab, is refused with SQLITE_BUSY while A keeps
// working; B opens it once A closes it, and A once B's tab is closed; A's
// page reloads and finds the data. "restart" (a new browser process on the
// same profile) finds it again. Prints one JSON object: what each step saw.

import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const { chromium } = createRequire(path.join(repo, "npm", "package.json"))("playwright-core");

const [executablePath, profile, url, scenario] = process.argv.slice(2);

// Lets a worker that a closed tab or a reload ended release its OPFS files.
const RELEASE_MS = 15000;

async function openTab(context) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  try {
    await page.waitForFunction(() => document.title === "ready", null, { timeout: 60000 });
  } catch (e) {
    throw new Error(`the page did not load: ${errors.join("; ") || e.message}`);
  }
  return page;
}

async function timed(fn) {
  const t0 = performance.now();
  const result = await fn();
  return { ...result, ms: Math.round(performance.now() - t0) };
}

async function write(context) {
  const a = await openTab(context);
  const out = {};
  out.written = await a.evaluate(async () => {
    const opened = await limbodb.open("notes.db");
    if (!opened.opened) return opened;
    const db = limbodb.db("notes.db");
    await db.exec("create table notes(id integer primary key, body text)");
    const ins = db.prepare("insert into notes(body) values (?)");
    for (let i = 0; i < 20; i++) await ins.run(`note ${i}`);
    const rows = await db.all("select id, body from notes order by id");
    return { count: rows.length, first: rows[0] };
  });
  out.exported = await a.evaluate(() => limbodb.serialize("notes.db"));

  // A second real tab of the same profile and origin: its own worker, its own Pyodide.
  const b = await openTab(context);
  out.busy = await b.evaluate(() => limbodb.open("notes.db"));
  out.firstKeepsWorking = await a.evaluate(async () => {
    const db = limbodb.db("notes.db");
    await db.run("insert into notes(body) values ('while tab B waits')");
    return db.get("select count(*) as n from notes");
  });
  // Now that B's engine has started, a refusal is prompt (no waiting on a lock).
  out.busyAgain = await timed(() => b.evaluate(() => limbodb.open("notes.db")));
  await a.evaluate(() => limbodb.close("notes.db"));
  out.secondAfterFirstCloses = await b.evaluate(async () => {
    const r = await limbodb.open("notes.db");
    return r.opened ? limbodb.db("notes.db").get("select count(*) as n, max(body) as last from notes") : r;
  });

  // The other way round, ended by closing B's tab with the database still open in it.
  out.firstWhileSecondHolds = await a.evaluate(() => limbodb.open("notes.db"));
  await b.close();
  out.firstAfterSecondTabCloses = await a.evaluate(async (ms) => {
    const r = await limbodb.openWhenFree("notes.db", ms);
    if (!r.opened) return r;
    const db = limbodb.db("notes.db");
    await db.run("insert into notes(body) values ('after tab B closed')");
    return { tries: r.tries, ...(await db.get("select count(*) as n from notes")) };
  }, RELEASE_MS);

  // Reload A with the database open: the new page's worker finds the rows in OPFS.
  await a.reload();
  await a.waitForFunction(() => document.title === "ready", null, { timeout: 60000 });
  out.afterReload = await a.evaluate(async (ms) => {
    const r = await limbodb.openWhenFree("notes.db", ms, { fileMustExist: true });
    if (!r.opened) return r;
    const db = limbodb.db("notes.db");
    const rows = await db.all("select id, body from notes order by id");
    await limbodb.close("notes.db");
    return { count: rows.length, last: rows.at(-1) };
  }, RELEASE_MS);
  out.opfsFile = await a.evaluate(() => limbodb.opfsFile("notes.db"));
  return out;
}

async function restart(context) {
  const page = await openTab(context);
  return page.evaluate(async () => {
    const r = await limbodb.open("notes.db", { fileMustExist: true });
    if (!r.opened) return r;
    const rows = await limbodb.db("notes.db").all("select id, body from notes order by id");
    await limbodb.close("notes.db");
    return { count: rows.length, last: rows.at(-1) };
  });
}

const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage", "--disable-background-networking"],
});
try {
  const result = await (scenario === "write" ? write(context) : restart(context));
  process.stdout.write(JSON.stringify(result));
} finally {
  await context.close();
}
