"""Reading a Content-Security-Policy header in tests (docs/security.md)."""

from __future__ import annotations

# The site-wide policy (helpdesk/settings.py), as a browser reads it.
SITE_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "media-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

# What a stored upload is served with: it runs and loads nothing, in a sandbox.
UPLOAD_POLICY = {
    "default-src": ["'none'"],
    "img-src": ["'self'"],
    "media-src": ["'self'"],
    "sandbox": [],
}


def directives(header: str) -> dict[str, list[str]]:
    """The policy's directives, each with its sources ({} for no header)."""
    parsed = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0].lower()] = words[1:]
    return parsed
