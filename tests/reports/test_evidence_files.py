"""Files are typed by their bytes; every refusal has a specific code."""

from __future__ import annotations

import hashlib
import struct

import pytest

from childsafe.reports.core.errors import EvidenceRejected
from childsafe.reports.core.evidence.files import (
    MiB,
    receive_file,
    sanitize_client_name,
    sniff,
)


def rejected(data: bytes, **kw) -> EvidenceRejected:
    kw.setdefault("received_at", None)
    with pytest.raises(EvidenceRejected) as info:
        receive_file(data, **kw)
    return info.value


@pytest.mark.parametrize(("make", "kind", "mime", "ext"),
                         [("png", "png", "image/png", "png"), ("gif", "gif", "image/gif", "gif"),
                          ("jpeg", "jpeg", "image/jpeg", "jpg"),
                          ("pdf", "pdf", "application/pdf", "pdf")])
def test_accepted_types(f, make, kind, mime, ext):
    data = getattr(f, make)()
    got = receive_file(data, received_at=f.now, client_name=f"photo.{ext}", declared_type=mime,
                       new_id=lambda: "abc123")
    assert (got.kind, got.mime, got.server_name) == (kind, mime, f"abc123.{ext}")
    assert got.digests.sha256 == hashlib.sha256(data).hexdigest()
    assert got.digests.md5 == hashlib.md5(data).hexdigest()
    assert got.size == len(data) and got.name_matches_type is True


def test_text_file(f):
    data = b"hello, are you alone?\r\nkeep it secret ok\n"
    got = receive_file(data, received_at=f.now, client_name="chat.txt",
                       declared_type="text/plain; charset=utf-8")
    assert got.kind == "txt" and got.server_name.endswith(".txt")
    assert len(got.server_name) == 32 + 4


def test_type_comes_from_bytes_not_name(f, png):
    got = receive_file(png, received_at=f.now, client_name="notes.txt")
    assert got.kind == "png" and got.name_matches_type is False
    assert got.client_name == "notes.txt" and got.server_name.endswith(".png")


def test_declared_type_mismatch(f, png):
    e = rejected(png, declared_type="application/pdf")
    assert e.code == "type_mismatch" and e.status == 415


def test_generic_declared_type_is_fine(f, png):
    assert receive_file(png, received_at=f.now,
                        declared_type="application/octet-stream").kind == "png"


def test_empty(f):
    assert rejected(b"").code == "empty"


@pytest.mark.parametrize("data", [b"MZ\x90\x00" + bytes(100), b"PK\x03\x04" + bytes(50),
                                  b"\xff\xfe\x00\x00binary", bytes(range(256)),
                                  b"\x00\x00\x00\x18ftypmp42"])
def test_unsupported(data):
    assert rejected(data).code == "unsupported_type"


def test_html_is_text_and_kept_exactly(f):
    data = b"<script>alert(1)</script><img src=x onerror=alert(2)>"
    got = receive_file(data, received_at=f.now, declared_type="text/plain")
    assert got.kind == "txt" and got.digests.sha256 == hashlib.sha256(data).hexdigest()


def test_text_with_nul_is_not_text():
    assert rejected(b"abc\x00def").code == "unsupported_type"


def test_too_large_overall():
    assert rejected(b"%PDF-1.4\n" + bytes(20 * MiB)).code == "too_large"


def test_too_large_for_text():
    e = rejected(b"a" * (2 * MiB + 1))
    assert e.code == "too_large" and e.status == 413 and "TXT" in e.detail


@pytest.mark.parametrize("cut", [20, 40, -5, -1])
def test_truncated_png_is_malformed(png, cut):
    assert rejected(png[:cut]).code == "malformed"


def test_png_with_bad_checksum(png):
    broken = bytearray(png)
    broken[20] ^= 0xFF  # inside IHDR
    assert rejected(bytes(broken)).code == "malformed"


def test_png_with_a_file_glued_on(png):
    e = rejected(png + b"PK\x03\x04" + bytes(30))
    assert e.code == "malformed" and "after the end" in e.detail


def test_png_with_zero_size(f):
    ihdr = struct.pack(">IIBBBBB", 0, 8, 8, 2, 0, 0, 0)
    import zlib
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    assert rejected(b"\x89PNG\r\n\x1a\n" + chunk).code == "malformed"


def test_signature_only_png():
    assert rejected(b"\x89PNG\r\n\x1a\n").code == "malformed"


def test_truncated_jpeg(f):
    assert rejected(f.jpeg()[:-2]).code == "malformed"


def test_truncated_gif(f):
    assert rejected(f.gif()[:-1]).code == "malformed"
    assert rejected(b"GIF89a\x00").code == "malformed"


def test_pdf_checks(f):
    assert rejected(f.pdf()[:-7]).code == "malformed"
    assert rejected(b"%PDF-x.y\n%%EOF").code == "malformed"


def test_sniff_prefers_binary_signatures(f):
    assert sniff(f.pdf()).name == "pdf"
    assert sniff(b"plain words").name == "txt"
    assert sniff(b"\xc3\x28") is None  # invalid UTF-8


@pytest.mark.parametrize(("raw", "clean"),
                         [("../../etc/passwd", "passwd"), ("C:\\Users\\kid\\chat.png", "chat.png"),
                          ("photo\u202egnp.exe", "photognp.exe"), (".hidden", "hidden"),
                          ("  many   spaces\t.png ", "many spaces .png"), ("", None), (None, None),
                          ("\x00\x01", None), ("e\u0301t\u00e9.txt", "\u00e9t\u00e9.txt"),
                          ("a" * 300, "a" * 200)])
def test_client_name_is_sanitised(raw, clean):
    assert sanitize_client_name(raw) == clean


def test_server_name_never_uses_client_name(f, png):
    got = receive_file(png, received_at=f.now, client_name="../../evil.png")
    assert "evil" not in got.server_name and "/" not in got.server_name


def test_random_noise_pngs_of_several_sizes(f):
    for w, h in [(1, 1), (16, 3), (64, 64)]:
        assert receive_file(f.png(w, h), received_at=f.now).kind == "png"
