// build.mjs copies the chart library's distributed files from the pinned
// npm package (package-lock.json, installed by `npm ci`) into the directory
// given as argument (`npm run build`: internal/web/static/chart, embedded
// and served under /static/). A plain copy keeps the build byte-for-byte
// reproducible: internal/web's TestChartAssetsReproducible rebuilds into a
// temporary directory and compares.
//
// uPlot was chosen for being small (51 kB minified, no dependency), drawing
// daily series on a canvas quickly even on a phone, and being MIT-licensed;
// Chart.js is four times its size for features these pages do not use.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const out = process.argv[2];
if (!out) {
  console.error("usage: node build.mjs OUTDIR");
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "node_modules", "uplot");
const files = {
  "dist/uPlot.iife.min.js": "uPlot.iife.min.js",
  "dist/uPlot.min.css": "uPlot.min.css",
  "LICENSE": "LICENSE",
};
mkdirSync(out, { recursive: true });
// Start from an empty directory so that a file dropped from the list does
// not linger in the embedded assets.
for (const f of readdirSync(out)) rmSync(join(out, f), { recursive: true });
for (const [from, to] of Object.entries(files)) {
  copyFileSync(join(pkg, from), join(out, to));
}
const { version } = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
console.log(`uplot ${version} -> ${out}`);
