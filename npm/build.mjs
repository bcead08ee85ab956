// Builds npm/dist: the limbodb wheel, built from this repository with
// `python -m pip wheel --no-deps`, saved as dist/limbodb.whl (the JS loads it
// by that name and unpacks it into Pyodide), and the ESM sources of
// bindings/js/src. Python: $PYTHON, else the repository's .venv, else python3; it
// needs setuptools>=77 installed (scripts/setup.sh puts it in .venv), and the
// build is offline (no build isolation).

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..");
const dist = path.join(here, "dist");
const venvPython = path.join(repo, ".venv", "bin", "python");
const python = process.env.PYTHON ?? (fs.existsSync(venvPython) ? venvPython : "python3");

fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist);

// The wheel is built from a copy of what it packages, so nothing stale in the
// repository's build/ folder can slip in and nothing is written into the tree.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "limbodb-wheel-"));
try {
  const tree = path.join(tmp, "src");
  const skip = (p) => path.basename(p) !== "__pycache__";
  for (const entry of ["pyproject.toml", "README.md", "engine", "io"]) {
    fs.cpSync(path.join(repo, entry), path.join(tree, entry), { recursive: true, filter: skip });
  }
  const out = path.join(tmp, "wheel");
  execFileSync(python, ["-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "--wheel-dir", out, tree], {
    stdio: ["ignore", "inherit", "inherit"],
    // Fixed zip timestamps: the same tree gives the same wheel (and the same Pyodide snapshot key).
    env: { ...process.env, SOURCE_DATE_EPOCH: process.env.SOURCE_DATE_EPOCH ?? "315532800" },
  });
  const wheels = fs.readdirSync(out).filter((f) => f.startsWith("limbodb-") && f.endsWith(".whl"));
  if (wheels.length !== 1) throw new Error(`expected one limbodb wheel, found: ${wheels.join(", ") || "none"}`);
  fs.copyFileSync(path.join(out, wheels[0]), path.join(dist, "limbodb.whl"));
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

const src = path.join(repo, "bindings", "js", "src");
for (const f of fs.readdirSync(src)) {
  if (f.endsWith(".js")) fs.copyFileSync(path.join(src, f), path.join(dist, f));
}
console.log(`built ${path.relative(repo, dist)}`);
