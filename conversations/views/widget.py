"""widget.js, the script a shop page includes to show the chat (docs/care.md, "The
embeddable widget"), and the signed link a recommendation's offer opens."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from uuid import UUID

from django.contrib.staticfiles import finders
from django.core import signing
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _
from django.utils.translation import override
from django.views.decorators.http import condition, require_GET

from conversations.protocol import RECOMMENDATION_SALT
from customers.services.recommendations import record_click

# Long enough to spare the shop's visitors a request per page, short enough that a new
# release reaches them within the hour; the ETag makes the check after that cheap.
WIDGET_MAX_AGE = 3600


def _widget_strings() -> dict:
    strings = {}
    for language, code in (("zh", "zh-hans"), ("en", "en")):
        with override(code):
            strings[language] = {
                "launcher": _("Chat with us"),
                "title": _("Lumen Shop support"),
                "close": _("Close the chat"),
                "accept": _("Chat now"),
                "decline": _("No thanks"),
                "dismiss": _("Close the invitation"),
            }
    return strings


@lru_cache(maxsize=1)
def widget_script() -> tuple[bytes, str]:
    """static/lumen/widget.js with its texts in both languages, and its ETag (read once per
    process)."""
    with open(finders.find("lumen/widget.js"), encoding="utf-8") as source:
        script = source.read()
    strings = json.dumps(_widget_strings(), ensure_ascii=False)
    body = script.replace("/*STRINGS*/{}", strings, 1).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@require_GET
@condition(etag_func=lambda request: widget_script()[1])
def widget_js(request):
    """The widget, for any page to include; it refuses to run where its site is not
    allowed (its settings come from the widget API, answered for allowed origins only)."""
    body, etag = widget_script()
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = f"public, max-age={WIDGET_MAX_AGE}"
    response["X-Content-Type-Options"] = "nosniff"
    # Loaded by other origins' pages, also those that isolate themselves (COEP).
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def recommendation_click(request, token: str):
    """A click on a recommended product or coupon: counted, then on to the shop's page.
    A link not signed by this helpdesk is 404 (no open redirect)."""
    try:
        recommendation, index = signing.loads(token, salt=RECOMMENDATION_SALT)
        recommendation_id = UUID(hex=recommendation)
        index = int(index)
    except (signing.BadSignature, TypeError, ValueError):
        raise Http404 from None
    url = record_click(recommendation_id=recommendation_id, index=index)
    if url is None or not url.startswith(("https://", "http://")):
        raise Http404
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
