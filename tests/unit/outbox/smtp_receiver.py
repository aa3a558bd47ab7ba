#!/usr/bin/python3
"""A real SMTP receiver for careid's outbox tests, built on aiosmtpd's SMTP
server (Debian python3-aiosmtpd, installed by scripts/install-deps).

Usage: smtp_receiver.py DIR [PORT]

Listens on 127.0.0.1:PORT (0 or absent: a free port chosen by the kernel) and
prints the port on stdout, once, when it accepts connections.

Each accepted message is written to DIR as NAME.eml (the DATA as received,
after SMTP dot-unstuffing) and NAME.json: the envelope, the headers and the
text body as Python's email package decodes them (RFC 2047 words, quoted-
printable, charset), and its parsing defects. NAME.json appears last, by an
atomic rename, so a reader counting *.json never sees half a message.

Recipients that answer differently:
  reject@example.test    550 (permanent)
  tempfail@example.test  451 (temporary)
"""
import asyncio
import email
import email.policy
import itertools
import json
import os
import sys

from aiosmtpd.smtp import SMTP


class Receiver:
    def __init__(self, directory):
        self.dir = directory
        self.seq = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        a = address.lower()
        if a == "reject@example.test":
            return "550 5.1.1 <reject@example.test>: Recipient address rejected"
        if a == "tempfail@example.test":
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        headers = {}
        for k, v in msg.items():
            headers.setdefault(k.lower(), []).append(str(v))
        name = "%d-%06d" % (os.getpid(), next(self.seq))
        info = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": headers,
            "body": None if msg.is_multipart() else msg.get_content(),
            "defects": [repr(d) for d in msg.defects],
            "raw": raw.decode("utf-8", "replace"),
        }
        path = os.path.join(self.dir, name)
        with open(path + ".eml", "wb") as f:
            f.write(raw)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(info, f, ensure_ascii=False)
        os.rename(path + ".tmp", path + ".json")
        return "250 2.0.0 Ok: queued as " + name


async def main(directory, port):
    handler = Receiver(directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", port)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: smtp_receiver.py DIR [PORT]")
    os.makedirs(sys.argv[1], exist_ok=True)
    try:
        asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 0))
    except KeyboardInterrupt:
        pass
