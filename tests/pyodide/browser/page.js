// The page test_browser.py opens in every tab, driven by drive.mjs through
// playwright-core: it imports the package the way an application does and
// keeps this tab's open databases by name; drive.mjs calls these helpers in
// page.evaluate(). Failures come back as plain data ({name, code, message}),
// since a thrown SqliteError would reach the driver as a bare message.

import { connect } from "/node_modules/limbodb/dist/browser.js";

const dbs = new Map();

function errorInfo(e) {
  return { name: e.name, code: e.code, message: e.message };
}

function base64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

window.limbodb = {
  // Open `name` as this tab's database: {opened: true} or the error.
  async open(name, options) {
    try {
      dbs.set(name, await connect(name, options));
      return { opened: true };
    } catch (e) {
      return errorInfo(e);
    }
  },

  // open() again every 100 ms while it is SQLITE_BUSY, for at most `ms`: {opened, tries} or the error.
  async openWhenFree(name, ms, options) {
    const until = performance.now() + ms;
    for (let tries = 1; ; tries++) {
      const r = await this.open(name, options);
      if (r.opened || r.code !== "SQLITE_BUSY" || performance.now() > until) return { ...r, tries };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  },

  db: (name) => dbs.get(name),

  async close(name) {
    await dbs.get(name).close();
    dbs.delete(name);
  },

  // db.serialize(), base64-encoded for the trip back to the driver.
  async serialize(name) {
    return base64(await dbs.get(name).serialize());
  },

  // The bytes of an OPFS file, read with the async file API (the file must not be open).
  async opfsFile(name) {
    const root = await navigator.storage.getDirectory();
    const file = await (await root.getFileHandle(name)).getFile();
    return base64(new Uint8Array(await file.arrayBuffer()));
  },
};
document.title = "ready";
