"""Server-rendered pages: the customer chat, the agent desk, attachments (thin)."""

from conversations.views.chat import chat_page
from conversations.views.files import attachment_file

__all__ = ["attachment_file", "chat_page"]
