"""Speech-to-text for voice notes: a pluggable HTTP backend, none by default.

With SPEECH_TO_TEXT_URL set, the audio is POSTed there (body = the file,
Content-Type = its type) and the service answers {"text": "..."}. Without it,
or when the service fails, there is no transcript and the bot says it cannot
listen yet.
"""

from __future__ import annotations

import logging

import httpx
from django.conf import settings

from conversations.models import Attachment

logger = logging.getLogger(__name__)


def transcribe(attachment: Attachment) -> str | None:
    if attachment.transcript:
        return attachment.transcript
    if not settings.SPEECH_TO_TEXT_URL:
        return None
    try:
        with attachment.file.open("rb") as handle:
            response = httpx.post(
                settings.SPEECH_TO_TEXT_URL,
                content=handle.read(),
                headers={"Content-Type": attachment.content_type},
                timeout=settings.SPEECH_TO_TEXT_TIMEOUT,
            )
        response.raise_for_status()
        text = str(response.json().get("text") or "").strip()[:4000]
    except (httpx.HTTPError, ValueError, AttributeError, OSError) as error:
        logger.warning("speech-to-text failed for %s: %s", attachment.pk, error)
        return None
    if text:
        Attachment.objects.filter(pk=attachment.pk).update(transcript=text)
        attachment.transcript = text
    return text or None
