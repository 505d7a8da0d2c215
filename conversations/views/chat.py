"""The customer chat page (plain JS speaking contracts/chat-protocol.md)."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _

from conversations.models import SkillGroup
from helpdesk.languages import activate_from_query, content_language


def chat_page(request):
    """The customer chat (plain JS speaking contracts/chat-protocol.md)."""
    activate_from_query(request)
    language = content_language()
    menu = [
        {"code": group.code, "label": group.name_in(language)}
        for group in SkillGroup.objects.filter(in_menu=True)
    ]
    return render(
        request,
        "conversations/chat.html",
        {"chat_language": language, "chat_strings": _chat_strings(), "menu_groups": menu},
    )


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
    }
