// The vendored noble module (kiosk_client/static/js/vendor/): the committed file is the
// one whose SHA-256 the manifest and the README record, its licenses ship beside it, and
// the versions recorded are the lock's. Rebuilding: kiosk_client/static/js/vendor/README.md.
// Run: node --test tests/js  (tests/test_js.py runs it in the Python suite).

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const vendor = new URL("../../kiosk_client/static/js/vendor/", import.meta.url);
const source = new URL("../../kiosk_client/vendor-src/", import.meta.url);
const manifest = JSON.parse(readFileSync(new URL("manifest.json", vendor), "utf8"));
const readme = readFileSync(new URL("README.md", vendor), "utf8");

test("noble.mjs is the file whose SHA-256 the manifest and the README record", () => {
  const digest = createHash("sha256").update(readFileSync(new URL("noble.mjs", vendor))).digest("hex");
  assert.equal(digest, manifest.sha256, "noble.mjs differs from manifest.json's sha256");
  assert.ok(readme.includes(digest), "the README does not state noble.mjs's SHA-256");
});

test("the manifest's versions and integrities are the lock file's, and the README states them", () => {
  const lock = JSON.parse(readFileSync(new URL("package-lock.json", source), "utf8"));
  const pkg = JSON.parse(readFileSync(new URL("package.json", source), "utf8"));
  for (const [name, pinned] of Object.entries(manifest.packages)) {
    const locked = lock.packages[`node_modules/${name}`];
    assert.equal(pinned.version, locked.version, name);
    assert.equal(pinned.integrity, locked.integrity, name);
    assert.equal(pkg.dependencies[name], pinned.version, `${name} is not pinned exactly in package.json`);
    assert.ok(readme.includes(pinned.integrity), `the README does not state ${name}'s integrity`);
  }
  assert.equal(pkg.devDependencies.esbuild, manifest.esbuild);
});

test("each package's MIT license ships beside the file", () => {
  for (const name of manifest.licenses) {
    const text = readFileSync(new URL(name, vendor), "utf8");
    assert.match(text, /MIT License/);
    assert.match(text, /Paul Miller/);
  }
  const head = readFileSync(new URL("noble.mjs", vendor), "utf8").split("\n").slice(0, 3).join("\n");
  assert.match(head, /@noble\/curves 2\.\d+\.\d+ sha512-/);
});

test("the module is self-contained: no import or require of anything", () => {
  const code = readFileSync(new URL("noble.mjs", vendor), "utf8");
  assert.doesNotMatch(code, /^\s*import\s/m);
  assert.doesNotMatch(code, /\brequire\(/);
});
