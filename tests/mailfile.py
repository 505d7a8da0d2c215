"""A mail backend for tests that run a real worker process: every message handed over is
written, at once and durably, as one line (its outreach id) to the file named by
LUMEN_TEST_MAIL_FILE, so the test sees what went out even from a worker it killed.
With LUMEN_TEST_MAIL_PAUSE_AFTER=N the worker stops for good after the Nth message of
the file, having touched `<file>.paused` (the moment to kill it)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        path = Path(os.environ["LUMEN_TEST_MAIL_FILE"])
        pause_after = int(os.environ.get("LUMEN_TEST_MAIL_PAUSE_AFTER") or 0)
        for message in email_messages:
            with open(path, "a") as out:
                out.write(message.extra_headers.get("X-Lumen-Outreach", "?") + "\n")
                out.flush()
                os.fsync(out.fileno())
            if pause_after and len(path.read_text().split()) == pause_after:
                path.with_name(path.name + ".paused").touch()
                time.sleep(3600)
        return len(email_messages)
