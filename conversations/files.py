"""Uploaded files: what they really are (by content, never by name), and safe names.

Accepted: images (PNG, JPEG, GIF, WebP), audio (MP3, M4A, Ogg, WAV, AMR, WebM
voice notes), video (MP4, QuickTime, WebM), PDF, and Office documents (docx,
xlsx, pptx; doc, xls, ppt). Everything else — HTML, SVG, scripts, archives,
executables, files whose header lies about the rest — is refused.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

# Markup that has no business inside any accepted file; its presence means a
# polyglot (a PNG header followed by HTML, say) or a disguised page.
_MARKUP = re.compile(
    rb"<\s*(?:script|html|svg|iframe|!doctype|body|object|embed|img|meta|math|a\s+href)\b",
    re.IGNORECASE,
)
# A name a browser or a desktop would open as a page, a script or a program, whatever the
# file really is (a real PNG named x.png.html is saved and opened as a web page).
_ACTIVE_EXTENSIONS = frozenset(
    """htm html xhtml shtml mht mhtml svg svgz xml xsl xslt js mjs hta php phtml jsp asp aspx
    exe com scr bat cmd ps1 sh vbs vbe wsf jar msi dll lnk url desktop""".split()
)
SAFE_INLINE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
_ZIP_MAX_TOTAL = 200 * 1024 * 1024
_ZIP_MAX_RATIO = 100
_ZIP_MAX_ENTRIES = 5000


class UploadRefused(Exception):
    """The file is not one we accept; the message says why, for the sender."""


class AttachmentTooLarge(UploadRefused):
    """Over ATTACHMENT_MAX_SIZE (413)."""


@dataclass(frozen=True)
class FileKind:
    content_type: str
    extension: str


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed `check_upload`: the name to show and what it really is."""

    name: str
    kind: FileKind
    size: int


def clean_name(name: str) -> str:
    """A display name: the last path part, no control characters, at most 200 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    return name[-200:] or "file"


def _office(stream, head: bytes, declared_name: str) -> FileKind:
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            entries = archive.infolist()
            if len(entries) > _ZIP_MAX_ENTRIES:
                raise UploadRefused(_("too many entries in the document"))
            total = sum(e.file_size for e in entries)
            if total > _ZIP_MAX_TOTAL or any(
                e.compress_size and e.file_size / e.compress_size > _ZIP_MAX_RATIO for e in entries
            ):
                raise UploadRefused(
                    _("the document expands to far more than its size (a zip bomb?)")
                )
            names = {e.filename for e in entries}
    except zipfile.BadZipFile:
        raise UploadRefused(_("a damaged document")) from None
    if "[Content_Types].xml" not in names:
        raise UploadRefused(_("archives are not accepted; send the files themselves"))
    prefixes = {name.split("/", 1)[0] for name in names}
    if "word" in prefixes:
        return FileKind(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"
        )
    if "xl" in prefixes:
        return FileKind(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"
        )
    if "ppt" in prefixes:
        return FileKind(
            "application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx"
        )
    raise UploadRefused(_("an Office file of a kind we do not accept"))


_OLE_TYPES = {
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
}


def sniff(stream, *, declared_name: str = "", declared_type: str = "") -> FileKind:
    """What the file is, from its bytes. Raises UploadRefused."""
    stream.seek(0)
    head = stream.read(64)
    stream.seek(0)
    body = stream.read()
    stream.seek(0)
    if not head:
        raise UploadRefused(_("the file is empty"))
    if _MARKUP.search(body):
        raise UploadRefused(_("files containing web pages or scripts are not accepted"))
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        if head[12:16] != b"IHDR" or b"IEND" not in body[-32:]:
            raise UploadRefused(_("a damaged PNG image"))
        return FileKind("image/png", ".png")
    if head.startswith(b"\xff\xd8\xff"):
        return FileKind("image/jpeg", ".jpg")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return FileKind("image/gif", ".gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FileKind("image/webp", ".webp")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return FileKind("audio/wav", ".wav")
    if head.startswith(b"%PDF-"):
        return FileKind("application/pdf", ".pdf")
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return FileKind("audio/mpeg", ".mp3")
    if head.startswith(b"OggS"):
        return FileKind("audio/ogg", ".ogg")
    if head.startswith(b"#!AMR"):
        return FileKind("audio/amr", ".amr")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return FileKind("audio/mp4", ".m4a")
        if brand == b"qt  ":
            return FileKind("video/quicktime", ".mov")
        return FileKind("video/mp4", ".mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        if declared_type.startswith("audio/"):
            return FileKind("audio/webm", ".webm")
        return FileKind("video/webm", ".webm")
    if head.startswith(b"PK\x03\x04"):
        return _office(stream, head, declared_name)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        extension = "." + declared_name.rsplit(".", 1)[-1].lower() if "." in declared_name else ""
        if extension in _OLE_TYPES:
            return FileKind(_OLE_TYPES[extension], extension)
    raise UploadRefused(_("this kind of file is not accepted"))


def check_upload(upload, *, shown_as: str = "") -> CheckedFile:
    """Every upload's checks, wherever it is sent (a conversation, a team room): the size
    cap, then what the file really is from its bytes, and its name cleaned for display.
    `shown_as` (a file fetched from a URL, whose name there says nothing): the name people
    see, with the extension of what the file really is. Raises UploadRefused
    (AttachmentTooLarge over ATTACHMENT_MAX_SIZE)."""
    if upload.size > settings.ATTACHMENT_MAX_SIZE:
        raise AttachmentTooLarge(
            _("the file is larger than %(n)d MiB") % {"n": settings.ATTACHMENT_MAX_SIZE // 2**20}
        )
    name = clean_name(upload.name)
    if "." in name and name.rsplit(".", 1)[1].lower() in _ACTIVE_EXTENSIONS:
        raise UploadRefused(_("files named as web pages, scripts or programs are not accepted"))
    kind = sniff(upload.file, declared_name=name, declared_type=upload.content_type or "")
    if shown_as:
        name = clean_name(shown_as + kind.extension)
    return CheckedFile(name=name, kind=kind, size=upload.size)


def save_with_file(record, upload, checked: CheckedFile) -> None:
    """Write the checked upload under the record's generated name (its FileField's
    `upload_to`, never the sender's name), then the row; no file is left behind when the
    row cannot be written."""
    upload.file.seek(0)
    record.file.save(f"upload{checked.kind.extension}", upload.file, save=False)
    try:
        record.save()
    except Exception:
        record.file.delete(save=False)
        raise
