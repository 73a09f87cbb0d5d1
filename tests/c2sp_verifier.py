"""A verifier of transparency-log data written from the specifications alone.

It imports nothing of the project, so a test that checks the ledger's answers with it does not
merely check the project's code against itself. Specifications followed:

- RFC 6962 §2.1 (https://www.rfc-editor.org/rfc/rfc6962#section-2.1): Merkle Tree Hash, audit
  paths;
- c2sp.org/signed-note: note text, signature lines, Ed25519 key ids;
- Go's golang.org/x/mod/sumdb/note verifier key string ``<name>+<hex key id>+<base64 key>``;
- c2sp.org/tlog-checkpoint: origin, size, root;
- c2sp.org/tlog-proof: the receipt;
- c2sp.org/tlog-tiles: tile paths, tiles, entry bundles.

Every check raises :class:`VerificationFailedError` with what did not hold.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class VerificationFailedError(Exception):
    pass


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(entry: bytes) -> bytes:
    return _sha256(b"\x00" + entry)


def mth(leaf_hashes: list[bytes]) -> bytes:
    """RFC 6962 MTH over leaf hashes (already hashed with the 0x00 prefix)."""
    n = len(leaf_hashes)
    if n == 0:
        return _sha256(b"")
    if n == 1:
        return leaf_hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return _sha256(b"\x01" + mth(leaf_hashes[:k]) + mth(leaf_hashes[k:]))


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes
    public: bytes


def parse_verifier_key(text: str) -> VerifierKey:
    name, key_id_hex, key_b64 = text.strip().split("+", 2)  # names hold no "+"
    raw = base64.b64decode(key_b64, validate=True)
    if raw[0] != 0x01 or len(raw) != 33:
        raise VerificationFailedError("not an Ed25519 note key")
    key_id = bytes.fromhex(key_id_hex)
    if _sha256(name.encode() + b"\n" + raw)[:4] != key_id:
        raise VerificationFailedError("the key id is not the hash of name and key")
    return VerifierKey(name, key_id, raw[1:])


def open_signed_note(note: str, key: VerifierKey) -> str:
    """The note text, once a signature by ``key`` verifies over it."""
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise VerificationFailedError("no blank line between text and signatures")
    text, signatures = note[: cut + 1], note[cut + 2 :]
    verified = False
    for line in signatures.splitlines():
        if not line.startswith("\u2014 "):
            raise VerificationFailedError(f"not a signature line: {line!r}")
        name, _, sig_b64 = line[2:].rpartition(" ")
        raw = base64.b64decode(sig_b64, validate=True)
        if name != key.name or raw[:4] != key.key_id:
            continue  # an unknown key's signature is ignored
        try:
            Ed25519PublicKey.from_public_bytes(key.public).verify(raw[4:], text.encode())
        except InvalidSignature:
            raise VerificationFailedError("the log's signature does not verify") from None
        verified = True
    if not verified:
        raise VerificationFailedError("no signature by the log's key")
    return text


@dataclass(frozen=True)
class TreeHead:
    origin: str
    size: int
    root: bytes


def open_checkpoint(note: str, key: VerifierKey) -> TreeHead:
    lines = open_signed_note(note, key).split("\n")
    origin, size, root = lines[0], lines[1], lines[2]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise VerificationFailedError("tree size is not a decimal")
    root_hash = base64.b64decode(root, validate=True)
    if len(root_hash) != 32:
        raise VerificationFailedError("root is not 32 bytes")
    return TreeHead(origin, int(size), root_hash)


def root_from_audit_path(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    """RFC 6962 §2.1.1 audit path, walked from the leaf up."""
    if not 0 <= index < size:
        raise VerificationFailedError("index beyond the tree")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise VerificationFailedError("audit path too long")
        if fn % 2 == 1 or fn == sn:
            r = _sha256(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _sha256(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationFailedError("audit path too short")
    return r


def verify_tlog_proof(text: str, key: VerifierKey) -> tuple[TreeHead, int, bytes]:
    """A c2sp.org/tlog-proof whose ``extra`` holds the entry: (tree head, index, entry)."""
    head, _, checkpoint = text.partition("\n\n")
    lines = head.split("\n")
    if lines[0] != "c2sp.org/tlog-proof@v1":
        raise VerificationFailedError("not a tlog-proof")
    rest = lines[1:]
    if not rest[0].startswith("extra "):
        raise VerificationFailedError("no extra line holding the entry")
    entry = base64.b64decode(rest[0][len("extra ") :], validate=True)
    if not rest[1].startswith("index "):
        raise VerificationFailedError("no index line")
    index = int(rest[1][len("index ") :])
    path = [base64.b64decode(h, validate=True) for h in rest[2:]]
    tree = open_checkpoint(checkpoint, key)
    if root_from_audit_path(index, tree.size, leaf_hash(entry), path) != tree.root:
        raise VerificationFailedError("the entry is not in the checkpointed tree")
    return tree, index, entry


def tile_path(level: int | str, index: int, width: int) -> str:
    """tlog-tiles: ``tile/<L>/<N>[.p/<W>]``, N in 3-digit groups, all but the last with x."""
    digits = f"{index:03d}"
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    n = "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])
    return f"tile/{level}/{n}" + (f".p/{width}" if width < 256 else "")


def split_bundle(data: bytes) -> list[bytes]:
    out, at = [], 0
    while at < len(data):
        size = int.from_bytes(data[at : at + 2], "big")
        out.append(data[at + 2 : at + 2 + size])
        at += 2 + size
    if at != len(data):
        raise VerificationFailedError("bundle ends inside an entry")
    return out


def root_from_tiles(tree: TreeHead, fetch: Callable[[str], bytes]) -> list[bytes]:
    """Fetch the level-0 tiles of ``tree`` and every higher tile, check each higher hash is the
    MTH of the full tile below it, and the tree's root; returns the leaf hashes."""
    level_hashes: list[list[bytes]] = []
    level = 0
    while tree.size >> (8 * level):
        count = tree.size >> (8 * level)
        hashes: list[bytes] = []
        for n in range((count + 255) // 256):
            width = min(256, count - n * 256)
            body = fetch(tile_path(level, n, width))
            if len(body) != 32 * width:
                raise VerificationFailedError(f"tile {level}/{n} is {len(body)} bytes")
            hashes += [body[i : i + 32] for i in range(0, len(body), 32)]
        level_hashes.append(hashes)
        level += 1
    for upper, lower in zip(level_hashes[1:], level_hashes, strict=False):
        for i, h in enumerate(upper):
            below = lower[i * 256 : (i + 1) * 256]
            if len(below) != 256 or mth(below) != h:
                raise VerificationFailedError("a tile hash is not the MTH of the tile below")
    leaves = level_hashes[0] if level_hashes else []
    if mth(leaves) != tree.root:
        raise VerificationFailedError("the tiles do not hash to the checkpoint's root")
    return leaves
