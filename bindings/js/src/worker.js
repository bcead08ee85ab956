// The dedicated worker a page's connect() starts: Pyodide and limbodb on OPFS,
// answering protocol.js requests. The page's "init" options may name where
// Pyodide's pyodide.mjs is served (pyodideURL); by default it is the npm
// "pyodide" package installed beside this one.

import { serve } from "./protocol.js";
import { createOpfsEngine } from "./opfs.js";
import { loadRuntime } from "./browser-runtime.js";

serve(self, async (options) => createOpfsEngine(await loadRuntime(options)));
