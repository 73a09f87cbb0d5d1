"""Signed notes: Go's sumdb/note test vectors and the C2SP example first, then every rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from suyuan.errors import InvalidInputError, SignatureError
from suyuan.tlog import (
    Note,
    NoteError,
    NoteSignature,
    NoteSignatureError,
    NoteSigner,
    NoteVerifier,
    UnverifiedNoteError,
    note_key_id,
    open_note,
    sign_note,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "data" / "tlog" / "signed_notes.json").read_text()
)
GO = VECTORS["go_note"]
C2SP = VECTORS["c2sp_example"]
TEXT: str = GO["text"]
PETER_LINE: str = GO["peter_signature_line"] + "\n"
ENOCH_LINE: str = GO["enoch_signature_line"] + "\n"
PETER = NoteVerifier.from_key(GO["peter_verifier_key"])
ENOCH = NoteVerifier.from_key(GO["enoch_verifier_key"])


def error_of(error_type: type[Exception], call: Any, *args: Any) -> Any:
    with pytest.raises(error_type) as caught:
        call(*args)
    return caught.value


# --- published vectors --------------------------------------------------------------------------


def test_go_verifier_key_is_read_and_written_back() -> None:
    assert PETER.name == "PeterNeumann"
    assert PETER.key_id == 0xC74F20A3
    assert PETER.to_key() == GO["peter_verifier_key"]
    assert note_key_id("PeterNeumann", PETER.public_key.public_bytes_raw()) == 0xC74F20A3


def test_go_signer_key_signs_exactly_like_go() -> None:
    signer = NoteSigner.from_key(GO["peter_signer_key"])
    assert signer.to_key() == GO["peter_signer_key"]
    assert signer.verifier == PETER
    assert sign_note(TEXT, signer) == GO["peter_signed_note"]


def test_signing_replaces_an_existing_signature_by_the_same_key() -> None:
    signer = NoteSigner.from_key(GO["peter_signer_key"])
    stale = Note(TEXT, (NoteSignature("PeterNeumann", 0xC74F20A3, b"BADSIGN"),))
    assert sign_note(stale, signer) == GO["peter_signed_note"]


def test_cosigning_keeps_existing_signatures_first() -> None:
    witness = NoteSigner.generate("witness.example")
    signed = open_note(
        sign_note(Note.parse(GO["peter_signed_note"]), witness), [PETER, witness.verifier]
    )
    assert [sig.name for sig in signed.signatures] == ["PeterNeumann", "witness.example"]


def test_open_verifies_known_keys_and_ignores_unknown_ones() -> None:
    message = TEXT + "\n" + PETER_LINE + ENOCH_LINE
    note = open_note(message, [PETER])
    assert note.text == TEXT
    assert [sig.to_line() + "\n" for sig in note.signatures] == [PETER_LINE]
    both = open_note(message, [PETER, ENOCH])
    assert [sig.to_line() + "\n" for sig in both.signatures] == [PETER_LINE, ENOCH_LINE]
    assert [sig.name for sig in Note.parse(message).signatures] == ["PeterNeumann", "EnochRoot"]


def test_open_without_a_trusted_signature_fails() -> None:
    err = error_of(UnverifiedNoteError, open_note, TEXT + "\n" + PETER_LINE + ENOCH_LINE, [])
    assert err.field == "signatures"
    assert "none is by a trusted key" in err.rule
    assert err.as_dict()["reason"] == "unverified_note"


def test_repeated_signatures_count_once() -> None:
    # Go's TestOpen: "Duplicated verified and unverified signatures".
    corrupt_enoch = ENOCH_LINE[:60] + "ABCD" + ENOCH_LINE[60:]
    message = TEXT + "\n" + PETER_LINE * 2 + ENOCH_LINE * 2 + corrupt_enoch
    note = open_note(message, [PETER])
    assert [sig.name for sig in note.signatures] == ["PeterNeumann"]


def test_a_bad_signature_by_a_trusted_key_rejects_the_note() -> None:
    message = TEXT + "\n" + PETER_LINE[:60] + "ABCD" + PETER_LINE[60:]
    err = error_of(NoteSignatureError, open_note, message, [PETER])
    assert isinstance(err, SignatureError)
    assert err.field == "signature"
    assert err.rule == "does not verify with trusted key PeterNeumann+c74f20a3"


def test_signatures_matching_name_or_key_id_but_not_both_are_ignored() -> None:
    misnamed = PETER_LINE.replace("PeterNeumann", "CarmenSandiego")
    error_of(UnverifiedNoteError, open_note, TEXT + "\n" + misnamed, [PETER])
    wrong_id = PETER_LINE.replace("x08g", "xxxx")
    error_of(UnverifiedNoteError, open_note, TEXT + "\n" + wrong_id, [PETER])


@pytest.mark.parametrize(
    ("message", "field", "rule"),
    [
        (TEXT, "note", "needs a blank line"),
        (TEXT + "\n", "note", "signature lines must follow"),
        (TEXT + "\n" + PETER_LINE[:-1], "note", "end in a newline"),
        ("\x01" + TEXT + "\n" + PETER_LINE, "note", "control character U+0001"),
        (b"\xff" + (TEXT + "\n" + PETER_LINE).encode(), "note", "valid UTF-8"),
        (TEXT + "\n" + "— Bad Name " + PETER_LINE.split(" ")[2], "signature_line", "base64"),
        (TEXT + "\n" + PETER_LINE + "Unexpected line.\n", "signature_line", "em dash"),
        (TEXT + "\n" + PETER_LINE * 101, "signatures", "at most 100"),
        (TEXT + "\n— PeterNeumann AAAA\n", "signature_line", "key ID and signature bytes"),
        (TEXT + "\n— a+b " + PETER_LINE.split(" ")[2], "signature_line", "without spaces or '+'"),
    ],
    ids=[
        "no signatures",
        "blank line only",
        "no final newline",
        "control character",
        "not utf-8",
        "space in name",
        "unexpected line",
        "too many signatures",
        "signature too short",
        "plus in name",
    ],
)
def test_malformed_notes_from_go_tests(message: str | bytes, field: str, rule: str) -> None:
    err = error_of(NoteError, open_note, message, [PETER])
    assert isinstance(err, InvalidInputError)
    assert err.field == field
    assert rule in err.rule
    assert err.as_dict()["reason"] == "malformed_note"


def test_c2sp_example_verifies() -> None:
    verifier = NoteVerifier.from_key(C2SP["verifier_key"])
    assert (verifier.name, verifier.key_id) == ("example.com/foo", 0x530D903A)
    assert open_note(C2SP["signed_note"], [verifier]).text == "This is an example message.\n"
    assert Note.parse(C2SP["signed_note"]).to_text() == C2SP["signed_note"]


def test_any_mangled_verifier_key_is_refused() -> None:
    # Go's TestNewVerifier: every proper substring and every single-byte change must fail.
    key = GO["peter_verifier_key"]
    for start in range(len(key) + 1):
        for end in range(start + 1, len(key) + 1):
            if (start, end) != (0, len(key)):
                error_of(NoteError, NoteVerifier.from_key, key[start:end])
    for position in range(len(key)):
        changed = key[:position] + chr(ord(key[position]) + 1) + key[position + 1 :]
        error_of(NoteError, NoteVerifier.from_key, changed)
    for bad in GO["bad_verifier_keys"]["keys"]:
        error_of(NoteError, NoteVerifier.from_key, bad)


def test_any_mangled_signer_key_is_refused() -> None:
    # Go's TestNewSigner, the same manglings of the private key string.
    key = GO["peter_signer_key"]
    for start in range(len(key) + 1):
        for end in range(start + 1, len(key) + 1):
            if (start, end) != (0, len(key)):
                error_of(NoteError, NoteSigner.from_key, key[start:end])
    for position in range(len(key)):
        changed = key[:position] + chr(ord(key[position]) + 1) + key[position + 1 :]
        error_of(NoteError, NoteSigner.from_key, changed)


# --- keys -----------------------------------------------------------------------------------------


def test_generated_keys_round_trip_through_their_strings() -> None:
    signer = NoteSigner.generate("EnochRoot")
    again = NoteSigner.from_key(signer.to_key())
    verifier = NoteVerifier.from_key(signer.verifier.to_key())
    assert (again.name, again.key_id) == (signer.name, signer.key_id)
    assert verifier == signer.verifier
    signed = sign_note("hi\n", again)
    assert open_note(signed, [verifier]).text == "hi\n"
    signature = Note.parse(signed).signatures[0]
    tampered = NoteSignature(
        signature.name,
        signature.key_id,
        bytes([signature.signature[0] ^ 1]) + signature.signature[1:],
    )
    assert not verifier.verify("hi\n", tampered)
    assert not verifier.verify("ho\n", signature)


@pytest.mark.parametrize(
    "name", ["", "a b", "a+b", "tab\tname", "ideographic\u3000space", "nbsp\u00a0", "ctl\x01"]
)
def test_key_names_without_spaces_plus_or_controls(name: str) -> None:
    err = error_of(NoteError, NoteSigner.generate, name)
    assert err.field == "key_name"


@pytest.mark.parametrize(
    ("key", "rule"),
    [
        (
            "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "8 hexadecimal digits",
        ),
        (
            "PeterNeumann+0xc74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "8 hexadecimal digits",
        ),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "padded base64"),
        ("PeterNeumann+c74f20a3+", "padded base64"),
        (
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            "0x01 followed by a 32-byte",
        ),
        (
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "0x01 followed by a 32-byte",
        ),
        (
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "key ID must be c74f20a3",
        ),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name"),
    ],
)
def test_verifier_key_rules(key: str, rule: str) -> None:
    err = error_of(NoteError, NoteVerifier.from_key, key)
    assert err.field == "verifier_key"
    assert rule in err.rule


def test_signer_key_errors_never_echo_the_secret() -> None:
    key = GO["peter_signer_key"]
    wrong_id = key.replace("c74f20a3", "c74f20a4")
    err = error_of(NoteError, NoteSigner.from_key, wrong_id)
    assert err.field == "signer_key"
    assert "key ID must be c74f20a3" in err.rule
    assert "AYEKFALV" not in str(err)
    assert err.__cause__ is None
    err = error_of(NoteError, NoteSigner.from_key, key.removeprefix("PRIVATE+KEY+"))
    assert err.rule == "must start with 'PRIVATE+KEY+'"


def test_two_different_trusted_keys_with_one_name_and_id_are_refused() -> None:
    impostor = NoteVerifier("PeterNeumann", Ed25519PrivateKey.generate().public_key())
    object.__setattr__(impostor, "_key_id", PETER.key_id)  # a 32-bit key ID collision
    err = error_of(NoteError, open_note, GO["peter_signed_note"], [PETER, impostor])
    assert (err.field, err.rule) == (
        "verifiers",
        "two different trusted keys share this name and key ID",
    )
    assert open_note(GO["peter_signed_note"], [PETER, PETER]).text == TEXT


def test_a_trusted_key_signature_of_the_wrong_length_fails() -> None:
    short = NoteSignature(PETER.name, PETER.key_id, b"\x00" * 10)
    err = error_of(NoteSignatureError, open_note, Note(TEXT, (short,)).to_text(), [PETER])
    assert err.field == "signature"


# --- note text rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("no newline", "must end with a newline"),
        ("", "must end with a newline"),
        ("bell\x07\n", "control character U+0007"),
        ("carriage\r\n", "control character U+000D"),
        ("lone \ud800 surrogate\n", "lone surrogate"),
    ],
)
def test_note_text_rules(text: str, rule: str) -> None:
    signer = NoteSigner.generate("log.example")
    err = error_of(NoteError, sign_note, text, signer)
    assert err.field == "text"
    assert rule in err.rule


def test_a_note_needs_a_signer() -> None:
    err = error_of(NoteError, sign_note, "text\n")
    assert (err.field, err.rule) == ("signatures", "a signed note has at least one signature")


def test_texts_with_blank_lines_split_at_the_last_one() -> None:
    signer = NoteSigner.generate("log.example")
    text = "first\n\nsecond\n\n"
    assert open_note(sign_note(text, signer), [signer.verifier]).text == text


CONTROLS_BUT_NEWLINE = "".join(chr(code) for code in range(0x20) if code != 0x0A)
note_texts = st.text(
    st.characters(exclude_categories=("Cs", "Co"), exclude_characters=CONTROLS_BUT_NEWLINE),
    max_size=200,
).map(lambda text: text + "\n")
key_names = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), exclude_characters="+\x85"),
    min_size=1,
    max_size=40,
).filter(lambda name: not any(char.isspace() for char in name))
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
SIGNER = NoteSigner("log.example", KEY)


@settings(max_examples=100, deadline=None)
@given(note_texts, key_names)
def test_any_signed_text_opens_to_itself(text: str, name: str) -> None:
    signer = NoteSigner(name, KEY)  # the same key under another name is another note key
    signed = sign_note(text, signer, SIGNER)
    opened = open_note(signed.encode(), [signer.verifier])
    assert opened.text == text
    assert Note.parse(signed).to_text() == signed
