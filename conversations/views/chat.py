"""The customer chat page (plain JS speaking contracts/chat-protocol.md)."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _

from conversations.models import SkillGroup, WidgetSite
from customers.services.invitations import invite_after
from helpdesk.languages import activate_from_query, content_language


def chat_page(request):
    """The customer chat (plain JS speaking contracts/chat-protocol.md).

    Embedded by the widget (`?embed=<site key>&origin=<the shop page's origin>`), for an
    enabled site that allows that origin: the page may be framed by the site's origins
    only (CSP frame-ancestors instead of X-Frame-Options DENY), and talks to its parent
    page with postMessage, that origin only. Any other request gets the page that no one
    may frame."""
    activate_from_query(request)
    language = content_language()
    menu = [
        {"code": group.code, "label": group.name_in(language)}
        for group in SkillGroup.objects.filter(in_menu=True)
    ]
    site = _embedding_site(request)
    config = {"invite_after": [] if site else invite_after()}
    if site is not None:
        config.update(embed=site.key, parent=request.GET["origin"].lower())
    response = render(
        request,
        "conversations/chat.html",
        {
            "chat_language": language,
            "chat_strings": _chat_strings(),
            "chat_config": config,
            "menu_groups": menu,
            "embedded": site is not None,
        },
    )
    if site is not None:
        # What django-csp's @csp_replace sets, with the site's origins known only now: the
        # site-wide policy stays, frame-ancestors 'none' gives way to the shop's origins.
        response._csp_replace = {"frame-ancestors": list(site.origins)}
        response.xframe_options_exempt = True
    return response


def _embedding_site(request) -> WidgetSite | None:
    key, origin = request.GET.get("embed"), request.GET.get("origin")
    if not key or not origin or len(key) > 40:
        return None
    site = WidgetSite.objects.filter(key=key, enabled=True).first()
    return site if site is not None and site.allows(origin) else None


def _chat_strings() -> dict:
    return {
        "bot": _("Our assistant is here for you, day and night."),
        "queued": _("Waiting for an agent: you are number %(position)s in line."),
        "assigned": _("%(agent)s is helping you."),
        "closed": _("This conversation has ended."),
        "reconnecting": _("Connection lost. Reconnecting…"),
        "rate_limited": _("You are sending messages too quickly. Please wait a moment."),
        "too_long": _("That message is too long (at most 4000 characters)."),
        "closed_error": _("This conversation has ended."),
        "error": _("The message could not be sent."),
        "agent_typing": _("The agent is typing…"),
        "upload_failed": _("The file could not be sent: %(reason)s"),
        "uploading": _("Sending the file…"),
        "recording": _("Recording… tap 🎤 again to send."),
        "not_found": _("The file could not be sent."),
        "helpful": _("👍 Yes"),
        "not_helpful": _("👎 No"),
        "thanks_rating": _("Thanks for telling us!"),
        "bot_typing": _("The assistant is typing…"),
        "wait_soon": _("Someone will be with you in a moment."),
        "wait_minutes": _("Expected wait: about %(minutes)s min."),
        "nobody_online": _("No one is online right now. You can leave a message."),
        "agents_online": _("Someone can answer now: please wait a moment."),
        "survey_title": _("How did we do?"),
        "survey_score": _("%(score)s out of 5"),
        "survey_comment": _("Anything to add? (optional)"),
        "survey_send": _("Send rating"),
        "survey_thanks": _("Thank you for your rating!"),
        "survey_points": _("Thank you for your rating! %(points)s points have been added."),
        "invite_accept": _("Chat now"),
        "invite_decline": _("No thanks"),
        "coupon_code": _("Coupon code: %(code)s"),
    }
