// Turso's own features through the JavaScript API: encryption at rest
// (connect's `encryption` option), the WAL frame API for replication, and
// change data capture. Python checks the files: limbodb and pyturso (from the
// repository's .venv, or $LIMBODB_PYTHON) for encrypted ones, sqlite3 for
// replicas.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { MessageChannel } from "node:worker_threads";
import Database from "../../../npm/dist/compat.js";
import { Database as AsyncDatabase } from "../../../npm/dist/database.js";
import { createOpfsEngine } from "../../../npm/dist/opfs.js";
import { RemoteEngine, serve } from "../../../npm/dist/protocol.js";
import { FakeDirectory } from "./fake-opfs.js";
import { connect, pyodideParts, python, SqliteError, tempDir } from "./support.js";

const CIPHER = "aegis256";
const HEXKEY = "b1bbfda4f589dc9daaf004fe21111e00dc00c98237102f5c7002a5669fc76327";
const encryption = { cipher: CIPHER, hexkey: HEXKEY };

const venvPython = fileURLToPath(new URL("../../../.venv/bin/python", import.meta.url));
const limbodbPython = process.env.LIMBODB_PYTHON ?? venvPython;

// Run Python code that imports limbodb (and pyturso), with sys.argv[1:] = args; its stdout as JSON.
function pythonWithLimbodb(code, ...args) {
  return JSON.parse(execFileSync(limbodbPython, ["-c", code, ...args], { encoding: "utf8" }));
}

test("an encrypted database written from JS opens in Python with its key, and not without", async (t) => {
  const file = path.join(tempDir(t), "enc.db");
  const db = await connect(file, { encryption });
  await db.exec("create table t(a integer primary key, b text)");
  const ins = db.prepare("insert into t(b) values (?)");
  for (let i = 0; i < 200; i++) await ins.run(`secret ${i}`);
  await db.close();
  const bytes = fs.readFileSync(file);
  assert.equal(bytes.subarray(0, 6).toString("latin1"), "Turso\0", "Turso's header magic");
  assert.equal(bytes.includes(Buffer.from("secret 1")), false, "no plaintext on disk");

  const out = pythonWithLimbodb(
    `import json, sys, limbodb, turso
path, cipher, key = sys.argv[1:]
c = limbodb.connect(path, encryption={"cipher": cipher, "hexkey": key})
mine = c.execute("select count(*), max(b) from t").fetchone()
c.close()
try:
    limbodb.connect(path).execute("select * from t").fetchall()
    keyless = "opened"
except limbodb.DatabaseError as e:
    keyless = str(e)
tc = turso.connect(path, experimental_features="encryption", encryption=turso.EncryptionOpts(cipher=cipher, hexkey=key))
theirs = tc.execute("select count(*), max(b) from t").fetchone()
tc.close()
print(json.dumps({"limbodb": list(mine), "turso": list(theirs), "keyless": keyless}))`,
    file,
    CIPHER,
    HEXKEY,
  );
  assert.deepEqual(out.limbodb, [200, "secret 99"]);
  assert.deepEqual(out.turso, [200, "secret 99"]);
  assert.match(out.keyless, /encrypted|not a database/);
});

test("an encrypted database written from Python opens from JS with its key, and not without", async (t) => {
  const file = path.join(tempDir(t), "py.db");
  pythonWithLimbodb(
    `import json, sys, limbodb
c = limbodb.connect(sys.argv[1], encryption={"cipher": sys.argv[2], "hexkey": sys.argv[3]})
c.execute("create table t(x, y)")
c.executemany("insert into t values (?, ?)", [(i, "from python") for i in range(50)])
c.commit()
c.close()
print("null")`,
    file,
    "aes256gcm",
    HEXKEY,
  );
  const db = await connect(file, { encryption: { cipher: "aes256gcm", hexkey: HEXKEY } });
  assert.deepEqual(await db.get("select count(*) as n, min(y) as y from t"), { n: 50, y: "from python" });
  await db.close();

  await assert.rejects(
    (async () => {
      const plain = await connect(file);
      try {
        await plain.all("select * from t");
      } finally {
        await plain.close();
      }
    })(),
    (e) => e instanceof SqliteError && e.code === "SQLITE_NOTADB",
  );
  const wrong = { cipher: "aes256gcm", hexkey: "00".repeat(32) };
  await assert.rejects(
    (async () => {
      const bad = await connect(file, wrong);
      try {
        await bad.all("select * from t");
      } finally {
        await bad.close();
      }
    })(),
    SqliteError,
  );
  const again = await connect(file, { encryption: { cipher: "aes256gcm", hexkey: HEXKEY } });
  assert.equal((await again.get("select count(*) as n from t")).n, 50, "failed opens left the file intact");
  await again.close();
});

test("the encryption option is checked, and works in the synchronous API", (t) => {
  assert.throws(() => new Database(":memory:", { encryption: { cipher: CIPHER } }), TypeError);
  const file = path.join(tempDir(t), "sync.db");
  const db = new Database(file, { encryption });
  db.exec("create table t(x); insert into t values ('hidden')");
  db.close();
  const again = new Database(file, { encryption });
  assert.equal(again.prepare("select x from t").pluck().get(), "hidden");
  again.close();
});

test("the URI form file:db?cipher=..&hexkey=.. opens an encrypted database, as in Python", async (t) => {
  const file = path.join(tempDir(t), "uri db.db");
  const uri = `file:${encodeURI(file)}?cipher=${CIPHER}&hexkey=${HEXKEY}`;
  const db = await connect(uri);
  assert.equal(db.name, uri, "name is the path as given");
  await db.exec("create table t(a integer primary key, b text); insert into t(b) values ('by uri')");
  await db.close();
  assert.ok(fs.existsSync(file), "the URI names the file (percent-decoded)");
  assert.equal(fs.readFileSync(file).subarray(0, 6).toString("latin1"), "Turso\0", "encrypted on disk");

  // Python and pyturso read it with the same key; the explicit option and the compat API take the URI too.
  const out = pythonWithLimbodb(
    `import json, sys, limbodb, turso
path, cipher, key = sys.argv[1:]
mine = limbodb.connect(f"file:{path}?cipher={cipher}&hexkey={key}").execute("select b from t").fetchall()
tc = turso.connect(path, experimental_features="encryption", encryption=turso.EncryptionOpts(cipher=cipher, hexkey=key))
theirs = tc.execute("select b from t").fetchall()
tc.close()
print(json.dumps([mine, theirs]))`,
    file,
    CIPHER,
    HEXKEY,
  );
  assert.deepEqual(out, [[["by uri"]], [["by uri"]]]);
  const sync = new Database(uri);
  assert.equal(sync.prepare("select b from t").pluck().get(), "by uri");
  sync.close();

  // mode=ro from the URI; a wrong key in the URI fails with SQLite's error and leaves the file intact.
  const ro = await connect(`${uri}&mode=ro`);
  assert.equal(ro.readonly, true);
  await assert.rejects(ro.exec("insert into t(b) values ('x')"), (e) => e.code === "SQLITE_READONLY");
  await ro.close();
  await assert.rejects(
    (async () => {
      const bad = await connect(`file:${encodeURI(file)}?cipher=${CIPHER}&hexkey=${"00".repeat(32)}`);
      try {
        await bad.all("select * from t");
      } finally {
        await bad.close();
      }
    })(),
    SqliteError,
  );
  await assert.rejects(connect(`file:${encodeURI(file)}?hexkey=${HEXKEY}`), /needs both a cipher and a hexkey/);
  await assert.rejects(connect(`file:${encodeURI(file)}?mode=rwx`), (e) => e.code === "SQLITE_ERROR");
  const again = await connect(uri);
  assert.equal((await again.get("select count(*) as n from t")).n, 1);
  await again.close();
});

// Both databases as sqlite3 sees them: the replica's integrity_check and every table's
// rows on each side. sqlite3 reads copies, so it never checkpoints the live files; each
// copy has a new name, so no -shm of an earlier copy is taken for its wal-index.
let views = 0;
function readBoth(primary, replica, scratch) {
  views += 1;
  return python(
    `import json, os, shutil, sqlite3, sys
def read(src, name):
    dst = os.path.join(sys.argv[3], name)
    for suffix in ("", "-wal"):
        if os.path.exists(src + suffix):
            shutil.copyfile(src + suffix, dst + suffix)
    c = sqlite3.connect(dst)
    check = [r[0] for r in c.execute("pragma integrity_check")]
    tables = [r[0] for r in c.execute("select name from sqlite_schema where type = 'table' order by name")]
    rows = {t: c.execute(f"select * from {t} order by rowid").fetchall() for t in tables}
    c.close()
    return check, rows
pcheck, prows = read(sys.argv[1], "p%s.db" % sys.argv[4])
rcheck, rrows = read(sys.argv[2], "r%s.db" % sys.argv[4])
print(json.dumps({"primary": prows, "replica": rrows, "check": rcheck}))`,
    primary,
    replica,
    scratch,
    String(views),
  );
}

// Make a primary for frame shipping: a database file of its own (sqlite3 ignores a -wal
// beside an empty file) and an empty WAL whose frame 1 is the next commit.
async function bootstrap(primary) {
  await primary.exec("pragma journal_mode = wal; pragma user_version = 1");
  await primary.exec("pragma wal_checkpoint(truncate)");
  await primary.walAutoCheckpointDisable();
  assert.equal(await primary.walFrameCount(), 0);
}

test("a replica kept in sync by shipping WAL frames from JS equals the primary after every commit", async (t) => {
  const dir = tempDir(t);
  const scratch = fs.mkdtempSync(path.join(dir, "scratch-"));
  const primaryFile = path.join(dir, "primary.db");
  const replicaFile = path.join(dir, "replica.db");
  const primary = await connect(primaryFile);
  await bootstrap(primary);
  // The replica starts as a copy of the primary's file taken while its WAL is empty.
  fs.copyFileSync(primaryFile, replicaFile);
  const replica = await connect(replicaFile);
  await replica.walAutoCheckpointDisable();

  const ship = async () => {
    const from = (await replica.walFrameCount()) + 1;
    const to = await primary.walFrameCount();
    await replica.walInsertBegin();
    try {
      for (let n = from; n <= to; n++) await replica.walInsertFrame(n, await primary.walGetFrame(n));
    } finally {
      await replica.walInsertEnd();
    }
    assert.equal(await replica.walFrameCount(), to);
  };

  const commits = [
    "create table t(a integer primary key, b text)",
    "insert into t(b) values ('one'), ('two')",
    `insert into t(b) select printf('row %d %s', value, zeroblob(200)) from generate_series(1, 60)`,
    "update t set b = upper(b) where a % 3 = 0",
    "create index tb on t(b)",
    "delete from t where a % 5 = 0",
  ];
  for (const sql of commits) {
    await primary.exec(sql);
    await ship();
    const seen = readBoth(primaryFile, replicaFile, scratch);
    assert.deepEqual(seen.check, ["ok"], `after: ${sql}`);
    assert.deepEqual(seen.replica, seen.primary, `after: ${sql}`);
  }
  assert.equal((await replica.get("select count(*) as n from t")).n, (await primary.get("select count(*) as n from t")).n);

  // A frame is a 24-byte header and a page; the same frame again is accepted, a different one is not.
  const first = await primary.walGetFrame(1);
  assert.ok(first instanceof Uint8Array);
  assert.equal(first.length, 24 + (await primary.pragma("page_size", { simple: true })));
  await replica.walInsertBegin();
  await replica.walInsertFrame(1, first);
  const forged = Uint8Array.from(first);
  forged[forged.length - 1] ^= 0xff;
  await assert.rejects(replica.walInsertFrame(2, forged), SqliteError);
  const count = await replica.walFrameCount();
  await assert.rejects(replica.walInsertFrame(count + 5, first), SqliteError, "a gap is an error");
  await replica.walInsertEnd();
  const seen = readBoth(primaryFile, replicaFile, scratch);
  assert.deepEqual(seen.check, ["ok"]);
  assert.deepEqual(seen.replica, seen.primary, "a rejected frame is never applied");

  await assert.rejects(primary.walGetFrame(0), RangeError);
  await primary.close();
  await replica.close();
  await assert.rejects(replica.walFrameCount(), TypeError);
});

test("the synchronous API ships frames too", (t) => {
  const dir = tempDir(t);
  const primary = new Database(path.join(dir, "p.db"));
  primary.exec("pragma journal_mode = wal; pragma user_version = 1");
  primary.exec("pragma wal_checkpoint(truncate)");
  primary.walAutoCheckpointDisable();
  assert.equal(primary.walFrameCount(), 0);
  fs.copyFileSync(path.join(dir, "p.db"), path.join(dir, "r.db"));
  const replica = new Database(path.join(dir, "r.db"));
  replica.walAutoCheckpointDisable();
  primary.exec("create table t(x); insert into t values (1), (2), (3)");
  replica.walInsertBegin();
  for (let n = 1; n <= primary.walFrameCount(); n++) replica.walInsertFrame(n, primary.walGetFrame(n));
  replica.walInsertEnd();
  assert.equal(replica.walFrameCount(), primary.walFrameCount());
  assert.deepEqual(replica.prepare("select x from t order by x").pluck().all(), [1, 2, 3]);
  primary.close();
  replica.close();
});

test("change data capture rows are visible from JS", async () => {
  const db = await connect(":memory:");
  await db.exec("pragma capture_data_changes_conn('full')");
  await db.exec("create table t(a integer primary key, b text)");
  await db.run("insert into t values (?, ?)", 1, "x");
  await db.run("update t set b = ? where a = ?", "y", 1);
  await db.run("delete from t where a = ?", 1);
  const changes = await db.all("select change_type, table_name, id from turso_cdc order by change_id");
  const dml = changes.filter((r) => r.table_name === "t");
  assert.deepEqual(dml, [
    { change_type: 1, table_name: "t", id: 1 },
    { change_type: 0, table_name: "t", id: 1 },
    { change_type: -1, table_name: "t", id: 1 },
  ]);
  assert.ok(changes.some((r) => r.table_name === "sqlite_schema" && r.change_type === 1), "DDL is captured");
  const [after] = await db.prepare("select after from turso_cdc where table_name = 't' and change_type = 1").raw().all();
  assert.ok(after[0] instanceof Uint8Array, "record images are blobs");
  await db.close();
});

test("through the browser's worker protocol: encryption in OPFS and the WAL frame API", async (t) => {
  const parts = await pyodideParts();
  const root = new FakeDirectory();
  const { port1, port2 } = new MessageChannel();
  t.after(() => {
    port1.close();
    port2.close();
  });
  serve(port1, () => createOpfsEngine({ ...parts, root }));
  const engine = new RemoteEngine(port2);
  const open = (name, options) => new AsyncDatabase(engine, name, options)._connect();

  const db = await open("enc.db", { encryption });
  await db.exec("create table t(x); insert into t values ('browser secret')");
  assert.ok((await db.walFrameCount()) > 0);
  const frame = await db.walGetFrame(1);
  assert.ok(frame instanceof Uint8Array && frame.length > 24);
  await db.close();
  const bytes = Buffer.from(root.file("enc.db").contents());
  assert.equal(bytes.subarray(0, 6).toString("latin1"), "Turso\0");
  assert.equal(bytes.includes(Buffer.from("browser secret")), false);
  const again = await open("enc.db", { encryption });
  assert.equal((await again.get("select x from t")).x, "browser secret");
  await again.close();
  await assert.rejects(open("enc.db"), (e) => e instanceof SqliteError && e.code === "SQLITE_NOTADB");
});
