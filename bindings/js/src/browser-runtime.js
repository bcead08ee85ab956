// Finding Pyodide, the limbodb wheel and OPFS from a browser worker.
// Defaults assume this package and "pyodide" are served side by side the way
// npm installs them (node_modules/limbodb/dist and node_modules/pyodide).

export async function loadRuntime({ pyodideURL, wheelURL } = {}) {
  const pyodideHref = pyodideURL ?? new URL("../../pyodide/pyodide.mjs", import.meta.url).href;
  const { loadPyodide } = await import(pyodideHref);
  const response = await fetch(wheelURL ?? new URL("./limbodb.whl", import.meta.url));
  if (!response.ok) throw new Error(`cannot fetch the limbodb wheel: ${response.status}`);
  return {
    loadPyodide,
    wheel: new Uint8Array(await response.arrayBuffer()),
    root: await navigator.storage.getDirectory(),
    pyodideOptions: { indexURL: new URL(".", pyodideHref).href },
  };
}
