"""The HTTP/websocket server: daphne, with a clean close for oversized frames.

Run it as daphne: `python -m helpdesk.server -b 0.0.0.0 -p 8000 helpdesk.asgi:application`.
The chat protocol closes a socket that sends a frame over 64 KiB with 1009.
daphne (autobahn) enforces the size, but by default fails such a connection by
dropping TCP, so the client only sees 1006; with failByDrop off autobahn sends
the 1009 close frame first. An ASGI application cannot send 1009 itself
(autobahn allows only 1000 and 3000–4999 from applications).
"""

import sys

import daphne.server
from daphne.cli import CommandLineInterface
from daphne.ws_protocol import WebSocketFactory

MAX_MESSAGE_SIZE = 64 * 1024


class CleanCloseWebSocketFactory(WebSocketFactory):
    def setProtocolOptions(self, **options):  # noqa: N802 (autobahn's name)
        options.setdefault("failByDrop", False)
        super().setProtocolOptions(**options)


def main(argv: list[str]) -> None:
    daphne.server.WebSocketFactory = CleanCloseWebSocketFactory
    if not any(arg.startswith("--websocket-max-message-size") for arg in argv):
        argv = ["--websocket-max-message-size", str(MAX_MESSAGE_SIZE), *argv]
    CommandLineInterface().run(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
