/*
 * public_proof.js — the public result page checks its own proof, in the reader's browser.
 *
 * The page (templates/public/vote.html) carries, as JSON in <script id="public-proof">,
 * the signed head of the body's audit log ({size, root, time, sig}), the server's
 * public key, and for each proved entry its log line and RFC 9162 inclusion proof (the
 * documents of `voting-audit prove`). Here, with WebCrypto only:
 *
 *   leaf = SHA-256(0x00 ‖ line), node = SHA-256(0x01 ‖ left ‖ right)
 *
 * each line is hashed, its proof walked up to a root, and that root compared with the
 * signed head's; each line must say what the page says (the result of this vote, its
 * announcement, the log's first entry naming the key); the result shown must be the
 * logged one; and the head's Ed25519 signature is verified over the canonical bytes of
 * {"type": "checkpoint", size, root, time} (docs/audit-log.md) — where the browser's
 * WebCrypto has Ed25519; otherwise the page says so and leaves it to voting-audit.
 *
 * A classic script, no module: the exported site works from file:// too. No strings of
 * its own: they come from the page's <script id="i18n"> (voting_server/i18n.py).
 */
(function () {
  "use strict";

  const dataElement = document.getElementById("public-proof");
  const statusBox = document.getElementById("proof-status");
  const list = document.getElementById("proof-checks");
  if (!dataElement || !statusBox || !list) return;
  const strings = JSON.parse((document.getElementById("i18n") || {}).textContent || "{}");
  const ENTRIES = ["log_started", "result", "vote_announced"];

  function t(key, values) {
    let text = strings[key] || key;
    Object.keys(values || {}).forEach((name) => {
      text = text.split("%(" + name + ")s").join(String(values[name]));
    });
    return text;
  }

  // --- bytes and hashes --------------------------------------------------------------

  function fromHex(text) {
    if (typeof text !== "string" || !/^([0-9a-f]{2})*$/.test(text)) throw new Error("hex");
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }

  function toHex(bytes) {
    return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function fromBase64(text) {
    const raw = atob(text);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function join(prefix, ...parts) {
    const size = parts.reduce((n, p) => n + p.length, 1);
    const out = new Uint8Array(size);
    out[0] = prefix;
    let at = 1;
    parts.forEach((p) => {
      out.set(p, at);
      at += p.length;
    });
    return out;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  const leafHash = (line) => sha256(join(0, line));
  const nodeHash = (left, right) => sha256(join(1, left, right));

  function bitLength(n) {
    return n === 0 ? 0 : Math.floor(Math.log2(n)) + 1;
  }

  function popCount(n) {
    let count = 0;
    for (; n > 0; n = Math.floor(n / 2)) count += n % 2;
    return count;
  }

  /** How many hashes the proof of leaf `index` in a tree of `size` has (RFC 9162). */
  function proofLength(index, size) {
    const inner = bitLength(index ^ (size - 1));
    return inner + popCount(Math.floor(index / 2 ** inner));
  }

  /** The root that `proof` gives leaf `leaf` at `index` in a tree of `size` (RFC 9162 §2.2.1). */
  async function rootFromInclusion(leaf, index, size, proof) {
    if (!(index >= 0 && index < size) || proof.length !== proofLength(index, size)) return null;
    let node = index;
    let last = size - 1;
    let digest = leaf;
    for (const sibling of proof) {
      if (node % 2 === 1 || node === last) {
        digest = await nodeHash(sibling, digest);
        while (node % 2 === 0 && node !== 0) {
          node = Math.floor(node / 2);
          last = Math.floor(last / 2);
        }
      } else {
        digest = await nodeHash(digest, sibling);
      }
      node = Math.floor(node / 2);
      last = Math.floor(last / 2);
    }
    return last === 0 ? digest : null;
  }

  // --- the canonical bytes the server signs (crypto/canonical.py) -----------------------

  function canonical(value) {
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    if (value !== null && typeof value === "object") {
      return "{" + Object.keys(value).sort().map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
    }
    return JSON.stringify(value);
  }

  async function signatureState(head, keyB64) {
    const statement = { type: "checkpoint", size: head.size, root: head.root, time: head.time };
    const bytes = new TextEncoder().encode(canonical(statement));
    let key;
    try {
      key = await crypto.subtle.importKey("raw", fromBase64(keyB64), { name: "Ed25519" }, false, ["verify"]);
    } catch (error) {
      return error && error.name === "NotSupportedError" ? "unsupported" : "bad_key";
    }
    try {
      const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, fromBase64(head.sig), bytes);
      return ok ? "ok" : "bad";
    } catch (error) {
      return "bad";
    }
  }

  // --- the checks ------------------------------------------------------------------------

  function show(ok, text) {
    const item = document.createElement("li");
    item.className = ok === null ? "note" : ok ? "ok" : "bad";
    item.textContent = (ok === null ? "• " : ok ? "✓ " : "✗ ") + text;
    list.appendChild(item);
  }

  /** What the line must say: the log's first entry names the key; the others are this vote's. */
  function saysWhatThePageSays(name, entry, data) {
    if (name === "log_started") return entry.type === "log_started" && entry.data.server_key === data.server_key;
    if (name === "result") return data.result_types.indexOf(entry.type) >= 0 && entry.data.vote === data.vote;
    return entry.type === "vote_announced" && entry.data.vote === data.vote;
  }

  async function checkEntry(name, proved, data, failures) {
    const label = {
      log_started: t("public.entry.log_started"),
      result: t("public.entry.result"),
      vote_announced: t("public.entry.vote_announced"),
    }[name];
    const doc = proved.proof;
    const line = new TextEncoder().encode(proved.line);
    const leaf = await leafHash(line);
    if (toHex(leaf) !== doc.leaf_hash) {
      failures.push(t("public.bad.leaf", { entry: label }));
      return null;
    }
    if (doc.size !== data.head.size || doc.root !== data.head.root || doc.index !== proved.index) {
      failures.push(t("public.bad.shape", { entry: label }));
      return null;
    }
    let computed = null;
    try {
      computed = await rootFromInclusion(leaf, doc.index, doc.size, doc.proof.map(fromHex));
    } catch (error) {
      computed = null;
    }
    const got = computed ? toHex(computed) : "—";
    if (got !== data.head.root) {
      failures.push(t("public.bad.root", { entry: label, computed: got, root: data.head.root }));
      return null;
    }
    let entry = null;
    try {
      entry = JSON.parse(proved.line);
    } catch (error) {
      entry = null;
    }
    if (!entry || entry.i !== proved.index || !saysWhatThePageSays(name, entry, data)) {
      failures.push(t("public.bad.content", { entry: label }));
      return null;
    }
    show(true, t("public.check.in_head", { entry: label, index: proved.index }));
    return entry;
  }

  async function run() {
    const data = JSON.parse(dataElement.textContent);
    if (!(globalThis.crypto && crypto.subtle)) {
      statusBox.dataset.state = "unavailable";
      statusBox.textContent = t("public.no_crypto");
      return;
    }
    const failures = [];
    const entries = {};
    for (const name of ENTRIES) {
      if (data.proofs[name]) entries[name] = await checkEntry(name, data.proofs[name], data, failures);
    }
    if (entries.result) {
      if (canonical(entries.result.data.result) === canonical(data.shown_result)) show(true, t("public.check.shown"));
      else failures.push(t("public.bad.shown"));
    }
    const signature = await signatureState(data.head, data.server_key);
    if (signature === "ok") show(true, t("public.check.sig"));
    else if (signature === "unsupported") show(null, t("public.sig_unsupported"));
    else failures.push(t("public.bad.sig"));
    if (!data.proofs.vote_announced) show(null, t("public.no_announcement_proof"));
    failures.forEach((text) => show(false, text));
    if (failures.length) {
      statusBox.dataset.state = "failed";
      statusBox.textContent = t("public.failed", { what: failures.join(t("public.sep")) });
    } else if (signature === "unsupported") {
      statusBox.dataset.state = "partial";
      statusBox.textContent = t("public.verified_unsigned");
    } else {
      statusBox.dataset.state = "verified";
      statusBox.textContent = t("public.verified");
    }
  }

  run().catch((error) => {
    statusBox.dataset.state = "failed";
    statusBox.textContent = t("public.failed", { what: String(error && error.message) });
  });
})();
