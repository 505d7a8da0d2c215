"""Files the upload tests share: a real tiny PNG, and files that must be refused."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"0" * (50 * 1024 * 1024))
    return buffer.getvalue()


PDF = b"%PDF-1.7\n%%EOF\n"

# (name, content): every one refused by conversations.files.check_upload, nothing stored.
REFUSED_FILES = [
    ("page.html", b"<!doctype html><script>alert(1)</script>"),
    ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    ("x.jpg.html", b"<html><body onload=alert(1)>"),
    ("poly.png", png()[:33] + b"<html><script>alert(1)</script></html>"),
    ("notes.txt", b"just some text"),
    ("archive.zip", b"PK\x03\x04" + b"\x00" * 40),
    ("bomb.docx", zip_bomb()),
    ("empty.png", b""),
]
