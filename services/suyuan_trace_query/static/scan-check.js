// The scan page checks its own proofs (docs/verification.md, "The scan page checks itself").
//
// For each record on the page it fetches /v1/events/{id}, then checks, with WebCrypto only:
//  1. the checkpoint is signed by the ledger key the page names (C2SP signed-note, Ed25519),
//     for an origin of that ledger, commits to the size and root the proof names, and carries
//     the cosignatures of the quorum of witnesses the page names (C2SP tlog-cosignature);
//  2. the record's leaf hash leads by its audit path to that root (RFC 9162 §2.1.3.2).
// It shows "verified in this browser" only when every check ran and passed, a red warning
// when one failed, and nothing but a note when this browser cannot check (no Ed25519 in
// WebCrypto) or a record is not yet covered by a checkpoint. Without JavaScript the page is
// unchanged. No framework, nothing loaded from elsewhere.
"use strict";

(function () {
  const box = document.getElementById("browser-check");
  if (!box || !window.crypto || !crypto.subtle || !window.fetch) return;
  const words = JSON.parse(box.dataset.words);
  const keyString = box.dataset.ledgerKey;
  const ids = Array.from(new Set(
    Array.from(document.querySelectorAll("[data-event]")).map((a) => a.dataset.event)
  )).slice(0, 50);

  function show(kind, text) {
    box.hidden = false;
    box.className = "browser-check " + kind;
    if (kind === "failed") box.setAttribute("role", "alert");
    box.textContent = text;
  }

  function b64(text) {
    const raw = atob(text);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  async function sha256(...parts) {
    const size = parts.reduce((n, p) => n + p.length, 0);
    const all = new Uint8Array(size);
    let at = 0;
    for (const p of parts) { all.set(p, at); at += p.length; }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  }

  // "<name>+<8 hex key id>+base64(0x01 || 32-byte Ed25519 key)" (C2SP signed-note key).
  async function ledgerKey(text) {
    const first = text.indexOf("+");
    const second = text.indexOf("+", first + 1);
    const name = text.slice(0, first);
    const keyId = text.slice(first + 1, second);
    const material = b64(text.slice(second + 1));
    if (material.length !== 33 || material[0] !== 1) throw new Error("ledger key");
    const key = await crypto.subtle.importKey(
      "raw", material.slice(1), { name: "Ed25519" }, false, ["verify"]
    );
    return { name, keyId: keyId.toLowerCase(), key };
  }

  // A witness key: "<name>+<8 hex key id>+base64(0x04 || 32-byte Ed25519 key)" (C2SP
  // tlog-cosignature); its cosignature is 8 bytes of time and an Ed25519 signature over
  // "cosignature/v1\ntime <t>\n" and the checkpoint's text.
  async function witnessKey(text) {
    const first = text.indexOf("+");
    const second = text.indexOf("+", first + 1);
    const material = b64(text.slice(second + 1));
    if (material.length !== 33 || material[0] !== 4) throw new Error("witness key");
    const key = await crypto.subtle.importKey(
      "raw", material.slice(1), { name: "Ed25519" }, false, ["verify"]
    );
    return {
      name: text.slice(0, first), keyId: text.slice(first + 1, second).toLowerCase(), key,
    };
  }

  async function openCheckpoint(note, ledger, witnesses, quorum) {
    const cut = note.lastIndexOf("\n\n");
    if (cut < 0) throw new Error("checkpoint");
    const text = note.slice(0, cut + 1);
    const body = new TextEncoder().encode(text);
    let signed = false;
    const cosigned = new Set();
    for (const line of note.slice(cut + 2).split("\n")) {
      if (!line.startsWith("\u2014 ")) continue;
      const space = line.lastIndexOf(" ");
      const name = line.slice(2, space);
      const raw = b64(line.slice(space + 1));
      const id = Array.from(raw.slice(0, 4), (b) => b.toString(16).padStart(2, "0")).join("");
      if (name === ledger.name && id === ledger.keyId) {
        signed = await crypto.subtle.verify({ name: "Ed25519" }, ledger.key, raw.slice(4), body);
        if (!signed) throw new Error("signature");
        continue;
      }
      const witness = witnesses.find((w) => w.name === name && w.keyId === id);
      if (!witness || raw.length !== 4 + 8 + 64) continue;
      let time = 0n;
      for (const byte of raw.slice(4, 12)) time = (time << 8n) | BigInt(byte);
      const message = new TextEncoder().encode("cosignature/v1\ntime " + time + "\n" + text);
      const ok = await crypto.subtle.verify(
        { name: "Ed25519" }, witness.key, raw.slice(12), message
      );
      if (!ok) throw new Error("cosignature");
      cosigned.add(witness.keyId + name);
    }
    if (!signed) throw new Error("signature");
    if (cosigned.size < quorum) throw new Error("quorum");
    const [origin, size, root] = text.split("\n");
    if (!origin.startsWith(ledger.name + "/")) throw new Error("origin");
    return { size: Number(size), root: b64(root) };
  }

  // RFC 9162 §2.1.3.2: the root from a leaf hash, its index, the tree size and its path.
  async function rootFromPath(leaf, index, size, path) {
    if (index >= size) throw new Error("index");
    let fn = index, sn = size - 1, r = leaf;
    for (const p of path) {
      if (sn === 0) throw new Error("path");
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(Uint8Array.of(1), p, r);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        r = await sha256(Uint8Array.of(1), r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error("path");
    return r;
  }

  async function check() {
    let ledger, witnesses;
    const quorum = Number(box.dataset.quorum || "0");
    try {
      ledger = await ledgerKey(keyString);
      witnesses = await Promise.all(JSON.parse(box.dataset.witnesses || "[]").map(witnessKey));
    } catch (err) {
      show("unable", words.unable);  // no Ed25519 in this browser's WebCrypto
      return;
    }
    let largest = 0, pending = 0;
    for (const id of ids) {
      const url = box.dataset.root + "/v1/events/" + encodeURIComponent(id);
      const answer = await fetch(url, { credentials: "omit" });
      if (!answer.ok) throw new Error("fetch");
      const proof = (await answer.json()).proof;
      if (proof === null) { pending++; continue; }
      const tree = await openCheckpoint(proof.checkpoint, ledger, witnesses, quorum);
      if (tree.size !== proof.tree_size || !equal(tree.root, b64(proof.root_hash))) {
        throw new Error("checkpoint");
      }
      const root = await rootFromPath(
        b64(proof.leaf_hash), proof.leaf_index, proof.tree_size, proof.hashes.map(b64)
      );
      if (!equal(root, tree.root)) throw new Error("inclusion");
      largest = Math.max(largest, tree.size);
    }
    if (pending === ids.length) { show("unable", words.pending); return; }
    const done = ids.length - pending;
    show("verified", words.verified.replace("{n}", done).replace("{key}", ledger.keyId)
      + (quorum ? " " + words.witnessed.replace("{n}", quorum) : "")
      + (pending ? " " + words.some_pending.replace("{n}", pending) : ""));
  }

  if (ids.length) {
    check().catch((err) => {
      // Too few witnesses is not a forged proof: it only leaves a split view possible.
      if (err.message === "quorum") show("unable", words.unwitnessed);
      else show("failed", words.failed);
    });
  }
})();
