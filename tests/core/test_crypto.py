import pytest

from childsafe.core.crypto import Keyring, key_id, new_keyring, open_sealed, rewrap, seal
from childsafe.core.errors import CryptoError, InvalidInput


def test_round_trip_and_fresh_nonces():
    ring = new_keyring()
    a = seal(ring, b"secret", "user:1:totp")
    b = seal(ring, b"secret", "user:1:totp")
    assert a != b
    assert open_sealed(ring, a, "user:1:totp") == b"secret"
    assert b"secret" not in a


def test_bound_to_its_record():
    ring = new_keyring()
    blob = seal(ring, b"secret", "user:1:totp")
    with pytest.raises(CryptoError):
        open_sealed(ring, blob, "user:2:totp")


def test_tampering_detected():
    ring = new_keyring()
    blob = bytearray(seal(ring, b"secret", "x"))
    blob[-1] ^= 1
    with pytest.raises(CryptoError):
        open_sealed(ring, bytes(blob), "x")


def test_rotation_rewraps_without_touching_payload():
    ring = new_keyring()
    blob = seal(ring, b"evidence bytes", "evidence:7")
    ring2 = ring.with_new_key("k2")
    moved = rewrap(ring2, blob, "evidence:7")
    assert key_id(moved) == "k2" and key_id(blob) == "k1"
    assert moved[-30:] == blob[-30:]  # ciphertext tail unchanged
    assert open_sealed(ring2, moved, "evidence:7") == b"evidence bytes"
    assert open_sealed(ring2, blob, "evidence:7") == b"evidence bytes"  # old key still reads
    only_new = Keyring({"k2": ring2.keys["k2"]}, "k2")
    assert open_sealed(only_new, moved, "evidence:7") == b"evidence bytes"
    with pytest.raises(CryptoError):
        open_sealed(only_new, blob, "evidence:7")


def test_keyring_json_round_trip_and_validation():
    ring = new_keyring().with_new_key("k2")
    again = Keyring.from_json(ring.to_json())
    assert again.active == "k2" and again.keys == ring.keys
    with pytest.raises(InvalidInput):
        Keyring.from_json("{not json")
    with pytest.raises(InvalidInput):
        Keyring({"k1": b"short"}, "k1")
    with pytest.raises(InvalidInput):
        Keyring({"k1": b"x" * 32}, "k9")


def test_garbage_is_not_an_envelope():
    with pytest.raises(CryptoError):
        open_sealed(new_keyring(), b"hello", "x")
