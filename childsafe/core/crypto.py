"""AES-256-GCM envelope encryption with key ids, for fields that must be unreadable at rest.

Each value gets its own data key (DEK); the DEK is wrapped by a key-encryption key (KEK)
named by a key id. Rotation re-wraps DEKs with the new KEK and never touches the payload, so
evidence blobs keep their bytes. Associated data binds a ciphertext to its record (e.g.
`user:42:totp`), so a value copied into another row does not decrypt.

Layout: b"CSE1" | len(kid) | kid | wrap_nonce(12) | wrapped_dek(48) | nonce(12) | ciphertext
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from childsafe.core.errors import CryptoError, InvalidInput

MAGIC = b"CSE1"
_KID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_WRAPPED_LEN = 32 + 16


@dataclass(frozen=True)
class Keyring:
    """Key-encryption keys by id; `active` encrypts, all of them decrypt."""

    keys: Mapping[str, bytes]
    active: str

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise InvalidInput(f"active key id {self.active!r} is not in the keyring")
        for kid, key in self.keys.items():
            if not _KID.match(kid):
                raise InvalidInput(f"bad key id {kid!r}")
            if len(key) != 32:
                raise InvalidInput(f"key {kid!r} must be 32 bytes (AES-256)")

    def to_json(self) -> str:
        return json.dumps({"active": self.active,
                           "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()}},
                          indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        try:
            doc = json.loads(text)
            keys = {str(k): base64.b64decode(v, validate=True) for k, v in doc["keys"].items()}
            return cls(keys, str(doc["active"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(f"keyring is not valid JSON of the form "
                               f'{{"active": id, "keys": {{id: base64}}}}: {exc}') from exc

    def with_new_key(self, kid: str | None = None) -> Keyring:
        kid = kid or f"k{len(self.keys) + 1}-{os.urandom(3).hex()}"
        if kid in self.keys:
            raise InvalidInput(f"key id {kid!r} already exists")
        return Keyring({**self.keys, kid: AESGCM.generate_key(256)}, kid)


def new_keyring() -> Keyring:
    return Keyring({"k1": AESGCM.generate_key(256)}, "k1")


def _split(blob: bytes) -> tuple[str, bytes, bytes, bytes, bytes]:
    if len(blob) < 6 or blob[:4] != MAGIC:
        raise CryptoError("not an envelope")
    kid_len = blob[4]
    pos = 5 + kid_len
    kid = blob[5:pos].decode("ascii", "replace")
    wrap_nonce, pos2 = blob[pos:pos + 12], pos + 12
    wrapped, pos3 = blob[pos2:pos2 + _WRAPPED_LEN], pos2 + _WRAPPED_LEN
    nonce, ciphertext = blob[pos3:pos3 + 12], blob[pos3 + 12:]
    if len(nonce) != 12 or len(ciphertext) < 16:
        raise CryptoError("truncated envelope")
    return kid, wrap_nonce, wrapped, nonce, ciphertext


def _pack(kid: str, wrap_nonce: bytes, wrapped: bytes, nonce: bytes, ciphertext: bytes) -> bytes:
    kid_b = kid.encode("ascii")
    return MAGIC + bytes([len(kid_b)]) + kid_b + wrap_nonce + wrapped + nonce + ciphertext


def _unwrap(keyring: Keyring, kid: str, wrap_nonce: bytes, wrapped: bytes, aad: bytes) -> bytes:
    kek = keyring.keys.get(kid)
    if kek is None:
        raise CryptoError(f"key {kid!r} is not in the keyring")
    try:
        return AESGCM(kek).decrypt(wrap_nonce, wrapped, b"dek|" + aad)
    except InvalidTag:
        raise CryptoError("data key does not unwrap (tampered or bound to another record)") from None


def seal(keyring: Keyring, plaintext: bytes, aad: str) -> bytes:
    dek = AESGCM.generate_key(256)
    nonce, wrap_nonce = os.urandom(12), os.urandom(12)
    ad = aad.encode()
    ciphertext = AESGCM(dek).encrypt(nonce, plaintext, ad)
    wrapped = AESGCM(keyring.keys[keyring.active]).encrypt(wrap_nonce, dek, b"dek|" + ad)
    return _pack(keyring.active, wrap_nonce, wrapped, nonce, ciphertext)


def open_sealed(keyring: Keyring, blob: bytes, aad: str) -> bytes:
    kid, wrap_nonce, wrapped, nonce, ciphertext = _split(blob)
    ad = aad.encode()
    dek = _unwrap(keyring, kid, wrap_nonce, wrapped, ad)
    try:
        return AESGCM(dek).decrypt(nonce, ciphertext, ad)
    except InvalidTag:
        raise CryptoError("ciphertext was altered or belongs to another record") from None


def key_id(blob: bytes) -> str:
    return _split(blob)[0]


def rewrap(keyring: Keyring, blob: bytes, aad: str) -> bytes:
    """Re-wrap the data key under the active key; the payload bytes are left as they are."""
    kid, wrap_nonce, wrapped, nonce, ciphertext = _split(blob)
    if kid == keyring.active:
        return blob
    ad = aad.encode()
    dek = _unwrap(keyring, kid, wrap_nonce, wrapped, ad)
    new_nonce = os.urandom(12)
    new_wrapped = AESGCM(keyring.keys[keyring.active]).encrypt(new_nonce, dek, b"dek|" + ad)
    return _pack(keyring.active, new_nonce, new_wrapped, nonce, ciphertext)


def split_envelope(blob: bytes) -> tuple[bytes, bytes]:
    """(key part, payload part): the key part can be re-wrapped while the payload, e.g.
    immutable evidence, is stored where no UPDATE may touch it."""
    kid, wrap_nonce, wrapped, nonce, ciphertext = _split(blob)
    head = _pack(kid, wrap_nonce, wrapped, b"", b"")
    return head, nonce + ciphertext
