// Run Python source (argv[2]) in Pyodide (the npm package's core; no numpy/scipy/pandas
// wheels: those come from a CDN this machine cannot reach). Prints the last value as JSON.
import { readFileSync } from "node:fs";
import { loadPyodide } from "pyodide";

const py = await loadPyodide();
const code = readFileSync(process.argv[2], "utf8");
const result = py.runPython(code);
console.log(JSON.stringify({ version: py.version, result: result }));
