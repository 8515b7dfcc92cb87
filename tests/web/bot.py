#!/usr/bin/python3
"""Echo bot for the web-client tests: an independent client on the TCP
listener (STARTTLS), so that what a web client sends is checked by a peer
that does not share its transport or its library.

It logs in, accepts every subscription request, and answers each chat
message with "echo: <body>". Every message it receives is appended to the
log file as one JSON line {"from": full JID, "body": ...} before it
answers, so the tests can check what reached it. When it is online it
writes "ready" to the ready file. It runs until SIGTERM.

Usage: bot.py --jid JID --password PW --port C2S_PORT --log FILE --ready FILE
"""

import argparse
import asyncio
import json
import signal
import ssl
import sys

import slixmpp


class EchoBot(slixmpp.ClientXMPP):
    def __init__(self, jid, password, log_path, ready_path):
        # PLAIN inside STARTTLS: SCRAM -PLUS would need channel binding data
        # that Python's ssl module cannot compute for TLS 1.3.
        super().__init__(jid, password, sasl_mech="PLAIN")
        self.log_path = log_path
        self.ready_path = ready_path
        # The node's certificate is self-signed: verify nothing.
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.ssl_context = ctx
        self.roster.auto_authorize = True
        self.roster.auto_subscribe = True
        self.whitespace_keepalive = False
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("failed_auth", lambda _: self.fail("authentication failed"))
        self.add_event_handler("disconnected", self.on_disconnected)
        self.stopping = False

    def fail(self, why):
        print(f"bot: {why}", file=sys.stderr, flush=True)
        sys.exit(1)

    async def on_start(self, _):
        await self.get_roster()
        self.send_presence()
        with open(self.ready_path, "w") as f:
            f.write("ready\n")
        print(f"bot: online as {self.boundjid.full}", flush=True)

    def on_message(self, msg):
        if msg["type"] not in ("chat", "normal") or not msg["body"]:
            return
        with open(self.log_path, "a") as f:
            f.write(json.dumps({"from": msg["from"].full, "body": msg["body"]}) + "\n")
        print(f"bot: from {msg['from'].full}: {msg['body']!r}", flush=True)
        msg.reply("echo: " + msg["body"]).send()

    def on_disconnected(self, _):
        if not self.stopping:
            self.fail("disconnected by the server")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jid", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready", required=True)
    args = ap.parse_args()

    bot = EchoBot(args.jid, args.password, args.log, args.ready)
    loop = asyncio.get_event_loop()

    def stop():
        bot.stopping = True
        bot.disconnect(wait=1.0)
        loop.call_later(1.5, loop.stop)

    loop.add_signal_handler(signal.SIGTERM, stop)
    loop.add_signal_handler(signal.SIGINT, stop)
    bot.connect((args.host, args.port), force_starttls=True)
    loop.run_forever()


if __name__ == "__main__":
    main()
