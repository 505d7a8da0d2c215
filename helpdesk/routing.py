from django.conf import settings
from django.urls import path

from conversations import consumers

websocket_urlpatterns = [
    path("ws/chat/", consumers.ChatConsumer.as_asgi()),
    path("ws/desk/", consumers.DeskConsumer.as_asgi()),
]

if settings.BENCH_RELAY:
    # The floor of this stack, for bench/chat_load.py only: same server, same
    # layer, no database and no auth. Never enabled unless BENCH_RELAY=1.
    from bench.relay import RelayConsumer

    websocket_urlpatterns.append(path("ws/bench-relay/", RelayConsumer.as_asgi()))
