// Builds ../static/js/vendor/noble.mjs (one self-contained ES module: the browser cannot
// resolve noble's bare "@noble/hashes/…" imports) from entry.mjs and the packages pinned
// in package-lock.json, copies their licenses beside it and records the file's SHA-256
// in manifest.json. `node build.mjs --check` rebuilds in memory and fails unless the
// committed files equal the rebuild. Run `npm ci --ignore-scripts` here first.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "static", "js", "vendor");
const check = process.argv.includes("--check");
const lock = JSON.parse(readFileSync(join(here, "package-lock.json"), "utf8"));

function installed(name) {
  const meta = JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8"));
  const locked = lock.packages[`node_modules/${name}`];
  if (meta.version !== locked.version) {
    throw new Error(`${name}: node_modules has ${meta.version}, the lock ${locked.version}; run npm ci`);
  }
  return { version: locked.version, integrity: locked.integrity };
}

const packages = { "@noble/curves": installed("@noble/curves"), "@noble/hashes": installed("@noble/hashes") };
const esbuildVersion = installed("esbuild").version;
const banner = [
  "// Vendored by kiosk_client/vendor-src/build.mjs (esbuild " + esbuildVersion + "); do not edit.",
  ...Object.entries(packages).map(([n, p]) => `// ${n} ${p.version} ${p.integrity} (MIT, LICENSE-${n.slice(7)})`),
].join("\n");

const result = await build({
  entryPoints: [join(here, "entry.mjs")],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2020",
  minify: false,
  legalComments: "inline",
  charset: "utf8",
  banner: { js: banner },
  write: false,
  logLevel: "error",
});
const code = result.outputFiles[0].contents;
const sha256 = createHash("sha256").update(code).digest("hex");
const manifest = JSON.stringify({
  file: "noble.mjs",
  sha256: sha256,
  packages: packages,
  esbuild: esbuildVersion,
  licenses: ["LICENSE-curves", "LICENSE-hashes"],
}, null, 2) + "\n";
const files = {
  "noble.mjs": code,
  "manifest.json": Buffer.from(manifest),
  "LICENSE-curves": readFileSync(join(here, "node_modules", "@noble", "curves", "LICENSE")),
  "LICENSE-hashes": readFileSync(join(here, "node_modules", "@noble", "hashes", "LICENSE")),
};

let differ = [];
for (const [name, bytes] of Object.entries(files)) {
  const path = join(out, name);
  if (check) {
    let committed = null;
    try { committed = readFileSync(path); } catch { /* missing */ }
    if (committed === null || !Buffer.from(bytes).equals(committed)) differ.push(name);
  } else {
    writeFileSync(path, bytes);
  }
}
if (differ.length) {
  console.error("differs from a rebuild: " + differ.join(", "));
  process.exit(1);
}
console.log(`noble.mjs sha256 ${sha256} (${code.length} bytes)` + (check ? ": the committed files equal a rebuild" : ""));
