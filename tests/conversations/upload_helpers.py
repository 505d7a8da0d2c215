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


def jpeg() -> bytes:
    """What the checks read of a JPEG: its start-of-image and JFIF marker."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64


# (name, content): every one refused by conversations.files.check_upload, nothing stored.
# First what the content is (whatever the name), then names that would open the file as a
# page or a program (whatever the content): a file fetched from a URL gets a generated
# name, so only the first list applies there.
REFUSED_BY_CONTENT = [
    ("page.html", b"<!doctype html><script>alert(1)</script>"),
    ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    ("x.jpg.html", b"<html><body onload=alert(1)>"),
    ("poly.png", png()[:33] + b"<html><script>alert(1)</script></html>"),
    ("notes.txt", b"just some text"),
    ("archive.zip", b"PK\x03\x04" + b"\x00" * 40),
    ("bomb.docx", zip_bomb()),
    ("empty.png", b""),
    ("page.htm", b"<HTML><BODY>hi</BODY></HTML>"),
    ("logo.png", b'<?xml version="1.0"?><svg onload="alert(1)"/>'),
    ("photo.jpg", jpeg() + b"<img src=x onerror=alert(1)>"),
    ("scan.pdf", PDF + b'<a href="javascript:alert(1)">x</a>'),
    ("poly.gif", b"GIF89a/*<meta http-equiv=refresh content=0;url=javascript:alert(1)>*/"),
    ("setup.exe", b"MZ\x90\x00" + b"\x00" * 200),
]
REFUSED_BY_NAME = [
    ("x.png.html", png()),
    ("x.jpg.html", jpeg()),
    ("x.png.svg", png()),
    ("invoice.pdf.exe", PDF),
    ("report.pdf.js", PDF),
    ("photo.PNG.HTM", png()),
    ("x.png.html. . ", png()),
]
REFUSED_FILES = REFUSED_BY_CONTENT + REFUSED_BY_NAME
# Names with a folder path in them: refused (helpdesk/uploads.py), nothing stored.
PATH_NAMES = [
    "../../../etc/passwd.png",
    "..\\..\\windows\\passwd.png",
    "/var/passwd.png",
    "C:\\Users\\x\\passwd.png",
    "..",
    "&#46;&#46;&#47;passwd.png",  # ../ as HTML entities, which Django's parser decodes
]


def multipart(fields: dict, name: str, content: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body of `fields` and the file `content` in the field `file`,
    named exactly `name` (a test client would keep only the last part of a path)."""
    boundary = "lumen-test-boundary-7e3f"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(
        parts
    ) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
