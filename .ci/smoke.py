"""One chat round trip over the websocket against a running `make run`."""

import asyncio
import json
import sys
import uuid

import httpx
from websockets.asyncio.client import connect


async def main(base: str) -> None:
    session = httpx.post(
        f"{base}/api/v1/chat/sessions/", json={"language": "en"}, timeout=10
    ).json()
    ws_url = base.replace("http", "ws", 1) + f"/ws/chat/?token={session['token']}"
    async with connect(ws_url, open_timeout=10) as socket:
        client_id = str(uuid.uuid4())
        await socket.send(
            json.dumps({"type": "message.send", "client_id": client_id, "body": "smoke test"})
        )
        async with asyncio.timeout(10):
            while True:
                frame = json.loads(await socket.recv())
                if frame["type"] == "message" and frame["message"]["client_id"] == client_id:
                    break
    print(f"smoke: message stored as seq {frame['message']['seq']} and delivered back")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
