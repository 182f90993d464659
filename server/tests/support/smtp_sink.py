"""A real SMTP server for the tests (aiosmtpd): stores every message it is given as
<dir>/<n>.eml (the raw DATA) and <n>.json (the envelope's recipients, the headers the tests look
at, and the decoded text and HTML parts), and prints its port on the first line of stdout. With
--refuse it answers every RCPT with a permanent 550.

Usage: python smtp_sink.py <dir> [--refuse]
"""

import asyncio
import email
import email.policy
import json
import os
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, folder, refuse):
        self.folder = folder
        self.refuse = refuse
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = os.path.join(self.folder, f"{self.count:05d}")
        raw = envelope.original_content or envelope.content
        with open(name + ".eml", "wb") as f:
            f.write(raw)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = {"text/plain": None, "text/html": None}
        for part in message.walk():
            if part.get_content_type() in parts and parts[part.get_content_type()] is None:
                parts[part.get_content_type()] = part.get_content()
        summary = {
            "rcpt": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "message_id": str(message["Message-ID"]),
            "content_type": message.get_content_type(),
            "text": parts["text/plain"],
            "html": parts["text/html"],
        }
        with open(name + ".tmp", "w") as f:
            json.dump(summary, f)
        # The .json appears whole, last: a reader that sees it sees the whole message.
        os.rename(name + ".tmp", name + ".json")
        return "250 Message accepted for delivery"


async def serve(folder, refuse):
    loop = asyncio.get_running_loop()
    sink = Sink(folder, refuse)
    server = await loop.create_server(lambda: SMTP(sink), host="127.0.0.1", port=0)
    print(server.sockets[0].getsockname()[1], flush=True)
    # Until the test closes our stdin (or kills us).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


def main():
    folder = sys.argv[1]
    os.makedirs(folder, exist_ok=True)
    asyncio.run(serve(folder, "--refuse" in sys.argv[2:]))


if __name__ == "__main__":
    main()
