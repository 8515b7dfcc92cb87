#!/usr/bin/env python3
"""End-to-end test of a running Meridian node with slixmpp, a client library
nobody on the team wrote (Debian's python3-slixmpp; run with /usr/bin/python3).

Two modes:

  full   (default) two users register in-band (XEP-0077), log in (A over
         STARTTLS, B over direct TLS, XEP-0368), subscribe to each other,
         see each other's presence and roster pushes (RFC 6121), exchange
         messages, find them in their archives (XEP-0313) and ping the
         server (XEP-0199). With --kill-pid the
         last step kill -9s the server with both sessions still open;
         otherwise both close their streams.
  check  after a restart: both users log in again, their rosters still
         hold each other with subscription "both" and their archives the
         messages.

Every step has a timeout. On a failure the script prints what it expected,
what it saw, and the last XML each client exchanged, then exits 1. The last
line is the summary, "N passed, N failed".
"""

import argparse
import asyncio
import collections
import logging
import os
import signal
import ssl
import sys
import time
import traceback

try:
    import slixmpp
    from slixmpp.exceptions import IqError, IqTimeout
    from slixmpp.stanza import StreamFeatures
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import StanzaPath
except ImportError as exc:  # pragma: no cover - environment problem
    sys.exit(f"slixmpp is not importable ({exc}); run scripts/deps.sh and use /usr/bin/python3")


# How long one iq may wait for its answer; steps have their own timeout.
IQ_TIMEOUT = 10


class Failure(Exception):
    """A step's expectation was not met."""


def as_bytes(data):
    return data.encode() if isinstance(data, str) else data


def is_tls(sock):
    return isinstance(sock, (ssl.SSLSocket, ssl.SSLObject))


class Client(slixmpp.ClientXMPP):
    """A slixmpp client that records what the test asserts on.

    Subscriptions are handled by the test, not by slixmpp's automatic
    roster logic, so that every stanza the scenario relies on is sent on
    purpose.
    """

    def __init__(self, name, jid, password, *, mech, direct_tls, register=False, wire_lines=40, stock_sasl=False):
        super().__init__(jid, password, sasl_mech=mech)
        self.name = name
        self.direct_tls = direct_tls
        self.wire = collections.deque(maxlen=wire_lines)
        self.changed = asyncio.Event()
        self.fatal = None  # first connection-level failure, as text
        self.sasl_failures = []
        self.registered = None  # None: not yet; True, or an error text
        self.session_started = False
        self.available = set()  # bare JIDs seen available
        self.subscribe_requests = set()  # bare JIDs that asked to subscribe
        self.subscribed_by = set()  # bare JIDs that approved our request
        self.pushes = []  # (bare jid, subscription, ask) per roster push item
        self.roster_items = {}  # bare jid -> subscription, from the last fetch
        self.roster_ver = None
        self.messages = []  # (from full jid, body)
        self.stanza_ids = {}  # body -> {by: id} of the message's <stanza-id/>s (XEP-0359)
        self.offered = []  # stream features of the last <stream:features>
        self.waiting = None  # what until() waits for, for timeout reports
        self.closing = False  # set when the test itself disconnects

        # The node's certificate is self-signed: verify nothing. Direct TLS
        # asks for the xmpp-client protocol (XEP-0368 §3).
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if direct_tls:
            ctx.set_alpn_protocols(["xmpp-client"])
        self.ssl_context = ctx

        # slixmpp 1.8 binds SCRAM -PLUS with tls-unique, which TLS 1.3 does
        # not define (RFC 9266); Meridian offers only tls-exporter, which
        # Python's ssl module cannot compute. So the client claims no
        # channel binding support (gs2 flag 'n') instead of 'y', which a
        # server offering -PLUS must refuse as a downgrade (RFC 5802 §6).
        # A client with stock_sasl keeps slixmpp's own choice: it tries
        # -PLUS with tls-unique, is refused, and retries with the 'y' flag,
        # which Meridian accepts once the client has shown it saw -PLUS.
        if not stock_sasl:
            mechanisms = self["feature_mechanisms"]
            default_credentials = mechanisms.sasl_callback

            def credentials(required, optional):
                out = default_credentials(required, optional)
                out.pop("channel_binding", None)
                return out
            mechanisms.sasl_callback = credentials

        self.roster.auto_authorize = None
        self.roster.auto_subscribe = False
        self.whitespace_keepalive = False

        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199", {"keepalive": False})
        self.register_plugin("xep_0313")
        if register:
            # slixmpp 1.8 queues every iq until the session starts, so the
            # XEP-0077 plugin's own pre-authentication iqs would never
            # leave; let them through until registration is done.
            self._always_send_everything = True
            self.register_plugin("xep_0004")
            self.register_plugin("xep_0066")
            self.register_plugin("xep_0077", {"create_account": True})
            self.add_event_handler("register", self._on_register)

        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("failed_auth", self._on_failed_auth)
        self.add_event_handler("failed_all_auth", lambda _: self._fail("SASL: every mechanism failed"))
        self.add_event_handler("no_auth", lambda _: self._fail("SASL: no mechanism slixmpp can use"))
        self.add_event_handler("connection_failed", lambda e: self._fail(f"connection failed: {e}"))
        self.add_event_handler("stream_error", lambda e: self._fail(f"stream error: {e['condition']} {e['text']}"))
        self.add_event_handler("disconnected", self._on_disconnected)
        self.add_event_handler("presence_available", self._on_available)
        self.add_event_handler("presence_subscribe", self._on_subscribe)
        self.add_event_handler("presence_subscribed", self._on_subscribed)
        self.add_event_handler("message", self._on_message)
        self.add_filter("in", self._record_features)
        # Alongside slixmpp's own roster handler: pushes only, not results.
        self.register_handler(Callback("e2e roster push", StanzaPath("iq@type=set/roster"), self._on_roster_push))

    # Wire capture, for failure reports.
    def data_received(self, data):
        self.wire.append(("RECV", data))
        super().data_received(data)

    def send_raw(self, data):
        self.wire.append(("SEND", data))
        super().send_raw(data)

    def _record_features(self, stanza):
        if isinstance(stanza, StreamFeatures):
            self.offered = [child.tag.split("}")[-1] for child in stanza.xml]
        return stanza

    def _touch(self):
        self.changed.set()

    def _fail(self, text):
        if self.fatal is None:
            self.fatal = text
        self._touch()

    async def _on_register(self, form):
        # XEP-0077 §3.1: the form names the fields to fill in.
        fields = set(form["register"]["fields"])
        if not {"username", "password"} <= fields:
            self.registered = f"registration form asks for {sorted(fields)}, want username and password"
            self._touch()
            return
        iq = self.Iq()
        iq["type"] = "set"
        iq["register"]["username"] = self.boundjid.user
        iq["register"]["password"] = self.password
        try:
            await iq.send(timeout=IQ_TIMEOUT)
            self.registered = True
        except IqError as e:
            self.registered = f"registration refused: {e.iq['error']['condition']} {e.iq['error']['text']}".strip()
        except IqTimeout:
            self.registered = "registration: no answer to the iq set"
        self._always_send_everything = False
        self._touch()

    def _on_session_start(self, _):
        self.session_started = True
        self._touch()

    def _on_failed_auth(self, stanza):
        mech = self["feature_mechanisms"].mech
        cond = stanza["condition"] if hasattr(stanza, "__getitem__") else stanza
        self.sasl_failures.append(f"{mech.name if mech else '?'}: {cond}")
        self._touch()

    def _on_disconnected(self, reason):
        if not self.closing:
            self._fail(f"disconnected by the server ({reason or 'no reason given'})")
        self._touch()

    def _on_available(self, pres):
        self.available.add(pres["from"].bare)
        self._touch()

    def _on_subscribe(self, pres):
        self.subscribe_requests.add(pres["from"].bare)
        self._touch()

    def _on_subscribed(self, pres):
        self.subscribed_by.add(pres["from"].bare)
        self._touch()

    def _on_message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            self.messages.append((msg["from"], msg["body"]))
            self.stanza_ids[msg["body"]] = {
                sid.get("by"): sid.get("id") for sid in msg.xml.findall("{urn:xmpp:sid:0}stanza-id")}
            self._touch()

    def _on_roster_push(self, iq):
        for jid, item in iq["roster"]["items"].items():
            self.pushes.append((jid.bare, item["subscription"], item["ask"]))
        self._touch()

    async def until(self, what, predicate):
        """Wait until predicate() holds; the caller bounds the wait."""
        self.waiting = what
        while True:
            if self.fatal is not None:
                raise Failure(f"{self.name}: {self.fatal} while waiting for {what}")
            if predicate():
                self.waiting = None
                return
            self.changed.clear()
            await self.changed.wait()

    async def close(self):
        """Close the stream and check that the server closed its own in
        answer (RFC 6120 §4.4) rather than slixmpp giving up waiting."""
        self.closing = True
        self.wire.append(("MARK", b""))
        await asyncio.wait_for(self.disconnect(wait=2.0), 5)
        after = list(self.wire)
        after = after[len(after) - 1 - after[::-1].index(("MARK", b"")):]
        if not any(d == "RECV" and b"</stream:stream>" in as_bytes(data) for d, data in after):
            raise Failure(f"{self.name}: the server did not close its stream after ours")

    def describe_tls(self):
        sock = self.socket
        if not is_tls(sock):
            return "no TLS"
        out = sock.version() or "TLS"
        if sock.selected_alpn_protocol():
            out += f", ALPN {sock.selected_alpn_protocol()}"
        return out

    def wire_dump(self):
        lines = [f"--- last XML exchanged by {self.name} ({self.boundjid.bare}) ---"]
        for direction, data in self.wire:
            if direction == "MARK":
                continue
            if isinstance(data, bytes):
                data = data.decode("utf-8", "replace")
            lines.append(f"{direction}: {data.strip()}")
        return "\n".join(lines)


def took(t0):
    dt = time.monotonic() - t0
    return f"{dt * 1000:.1f}ms" if dt < 1 else f"{dt:.2f}s"


class Runner:
    """Runs named steps in order, each under a timeout; stops at the first
    failure, since later steps build on earlier ones."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.passed = 0
        self.failed = 0
        self.clients = []

    async def step(self, name, coro_fn, timeout=None):
        timeout = timeout or self.timeout
        t0 = time.monotonic()
        try:
            detail = await asyncio.wait_for(coro_fn(), timeout)
        except asyncio.TimeoutError:
            waits = "; ".join(f"{c.name} was waiting for {c.waiting}" for c in self.clients if c.waiting)
            self.report_failure(name, t0, f"timed out after {timeout:g}s" + (f" ({waits})" if waits else ""))
            raise
        except Failure as e:
            self.report_failure(name, t0, str(e))
            raise
        except (IqError, IqTimeout) as e:
            self.report_failure(name, t0, f"{type(e).__name__}: {e}")
            raise
        except Exception as e:  # a bug here or a surprise from slixmpp
            self.report_failure(name, t0, f"unexpected {type(e).__name__}: {e}")
            traceback.print_exc()
            raise Failure(str(e)) from e
        self.passed += 1
        extra = f" - {detail}" if detail else ""
        print(f"PASS  {name}  ({took(t0)}){extra}", flush=True)

    def report_failure(self, name, t0, why):
        self.failed += 1
        print(f"FAIL  {name}  ({took(t0)}): {why}", flush=True)
        for c in self.clients:
            state = (
                f"{c.name}: session={c.session_started} registered={c.registered} "
                f"sasl_failures={c.sasl_failures} available={sorted(c.available)} "
                f"pushes={c.pushes} messages={[(str(f), b) for f, b in c.messages]} fatal={c.fatal}"
            )
            print(state, file=sys.stderr)
            print(c.wire_dump(), file=sys.stderr)


def last_push(client, jid):
    """Subscription and ask of the newest roster push about jid."""
    for bare, sub, ask in reversed(client.pushes):
        if bare == jid:
            return sub, ask
    return None, None


async def login(client, args, register):
    """Connect and wait for the session (with registration first)."""
    port = args.tls_port if client.direct_tls else args.starttls_port
    client.connect((args.host, port), use_ssl=client.direct_tls, force_starttls=not client.direct_tls)
    if register:
        try:
            await client.until("in-band registration", lambda: client.registered is not None)
        except Failure as e:
            if client.registered is None and "mechanisms" in client.offered and "register" not in client.offered:
                raise Failure(f"{client.name}: the server did not offer in-band registration "
                              f"(stream features {client.offered}); then {e}") from None
            raise
        if client.registered is not True:
            raise Failure(f"{client.name}: {client.registered}")
    await client.until("session start (SASL, bind)", lambda: client.session_started)
    if not is_tls(client.socket):
        raise Failure(f"{client.name}: session is not encrypted")
    if client.direct_tls:
        if client.socket.selected_alpn_protocol() != "xmpp-client":
            raise Failure(f"{client.name}: direct TLS negotiated ALPN {client.socket.selected_alpn_protocol()!r}, want 'xmpp-client'")
    elif "starttls" not in client.features:
        raise Failure(f"{client.name}: STARTTLS was not negotiated")
    mech = client["feature_mechanisms"].mech.name
    how = "direct TLS" if client.direct_tls else "STARTTLS"
    detail = f"{client.boundjid.full} via {how} ({client.describe_tls()}), SASL {mech}"
    if client.sasl_failures:
        detail += f" after failures {client.sasl_failures}"
    return detail


async def fetch_roster(client):
    resp = await client.get_roster(timeout=IQ_TIMEOUT)
    client.roster_items = {jid.bare: item["subscription"] for jid, item in resp["roster"]["items"].items()}
    client.roster_ver = resp["roster"]["ver"]


async def full(args, runner):
    domain = args.domain
    a = Client("A", f"{args.user_a}@{domain}", args.password, mech="SCRAM-SHA-256", direct_tls=False, register=True)
    b = Client("B", f"{args.user_b}@{domain}", args.password, mech="SCRAM-SHA-1", direct_tls=True, register=True)
    runner.clients = [a, b]
    ja, jb = a.boundjid.bare, b.boundjid.bare

    await runner.step(f"A registers in-band and logs in over STARTTLS (port {args.starttls_port})",
                      lambda: login(a, args, register=True))
    await runner.step(f"B registers in-band and logs in over direct TLS (port {args.tls_port})",
                      lambda: login(b, args, register=True))

    async def initial_presence():
        for c in (a, b):
            await fetch_roster(c)
            if c.roster_items:
                raise Failure(f"{c.name}: new account has a non-empty roster {c.roster_items}")
            c.send_presence()
        return f"empty rosters, ver A={a.roster_ver!r} B={b.roster_ver!r}"
    await runner.step("both fetch their (empty) roster and send initial presence", initial_presence)

    async def subscribe(x, y):
        jx, jy = x.boundjid.bare, y.boundjid.bare
        x.send_presence(pto=jy, ptype="subscribe")
        await y.until(f"a subscription request from {jx}", lambda: jx in y.subscribe_requests)
        y.send_presence(pto=jx, ptype="subscribed")
        await x.until(f"'subscribed' from {jy}", lambda: jy in x.subscribed_by)
        await x.until(f"a roster push with {jy} subscription to/both",
                      lambda: last_push(x, jy)[0] in ("to", "both"))
        return f"{x.name} push: {last_push(x, jy)}, {y.name} push: {last_push(y, jx)}"
    await runner.step("A subscribes to B, B approves", lambda: subscribe(a, b))
    await runner.step("B subscribes to A, A approves", lambda: subscribe(b, a))

    async def both():
        await a.until(f"a roster push with {jb} subscription both", lambda: last_push(a, jb)[0] == "both")
        await b.until(f"a roster push with {ja} subscription both", lambda: last_push(b, ja)[0] == "both")
        return f"A: {jb} {last_push(a, jb)}, B: {ja} {last_push(b, ja)}"
    await runner.step("roster pushes: subscription becomes 'both' on both sides", both)

    async def presence():
        await a.until(f"available presence from {jb}", lambda: jb in a.available)
        await b.until(f"available presence from {ja}", lambda: ja in b.available)
        return None
    await runner.step("each sees the other's available presence", presence)

    async def messages():
        a.send_message(mto=jb, mbody="hello from A", mtype="chat")
        await b.until("A's message", lambda: any(body == "hello from A" for _, body in b.messages))
        sender = next(f for f, body in b.messages if body == "hello from A")
        if sender.bare != ja:
            raise Failure(f"B: message came from {sender}, want {ja}/...")
        b.send_message(mto=sender, mbody="hello back from B", mtype="chat")
        await a.until("B's reply", lambda: any(body == "hello back from B" for _, body in a.messages))
        replier = next(f for f, body in a.messages if body == "hello back from B")
        if replier.bare != jb:
            raise Failure(f"A: reply came from {replier}, want {jb}/...")
        return f"{sender} -> {jb}, {replier} -> {sender}"
    await runner.step("A sends a message to B, B replies", messages)
    await runner.step("both find the exchange in their archives (XEP-0313, XEP-0359 stanza-ids)",
                      lambda: archives(a, b))

    async def ping():
        out = []
        for c in (a, b):
            t0 = time.monotonic()
            resp = await c["xep_0199"].send_ping(domain, timeout=IQ_TIMEOUT)
            if resp["type"] != "result":
                raise Failure(f"{c.name}: ping answered with type {resp['type']!r}")
            out.append(f"{c.name} {1000 * (time.monotonic() - t0):.1f}ms")
        return ", ".join(out)
    await runner.step("both ping the server (XEP-0199)", ping)

    if args.kill_pid:
        async def kill():
            # Nothing the server does on a session's end may be needed for
            # what it already acknowledged to survive.
            for c in (a, b):
                c.closing = True
            os.kill(args.kill_pid, signal.SIGKILL)
            for c in (a, b):
                await c.until("the connection to drop", lambda: c.transport is None or c.transport.is_closing())
            return f"pid {args.kill_pid}"
        await runner.step("kill -9 the server while both sessions are open", kill)
    else:
        await runner.step("both disconnect cleanly", lambda: close_all(a, b))


async def archived(x, y):
    """The bodies and archive ids of x's archive with y's bare JID (one
    page of up to 10), after checking the archive metadata."""
    iq = await x["xep_0313"].retrieve(with_jid=slixmpp.JID(y.boundjid.bare), timeout=IQ_TIMEOUT, rsm={"max": 10})
    results = iq["mam"]["results"]
    if iq["mam_fin"]["complete"] is not True and str(iq["mam_fin"].xml.get("complete")) != "true":
        raise Failure(f"{x.name}: archive query not complete: {iq}")
    out = [(r["mam_result"]["forwarded"]["stanza"]["body"], r["mam_result"]["id"]) for r in results]
    # RSM <last/> names the newest result.
    if out and iq["mam_fin"]["rsm"]["last"] != out[-1][1]:
        raise Failure(f"{x.name}: RSM last {iq['mam_fin']['rsm']['last']!r}, newest result {out[-1][1]!r}")
    meta = await x["xep_0313"].get_archive_metadata(timeout=IQ_TIMEOUT)
    if not meta["mam_metadata"]["start"]["id"] or not meta["mam_metadata"]["end"]["id"]:
        raise Failure(f"{x.name}: archive metadata without start and end: {meta}")
    return out


async def archives(a, b):
    """A's message and B's reply are in both archives, in order, and each
    recipient got the message with the stanza-id its archive gave it."""
    want = ["hello from A", "hello back from B"]
    for x, y in ((a, b), (b, a)):
        got = await archived(x, y)
        if [body for body, _ in got] != want:
            raise Failure(f"{x.name}: archive with {y.name} holds {got}, want {want}")
        received = want[1] if x is a else want[0]
        sid = x.stanza_ids.get(received, {}).get(x.boundjid.bare)
        if sid is None or sid != dict(got)[received]:
            raise Failure(f"{x.name}: got {received!r} with stanza-ids {x.stanza_ids.get(received)}, "
                          f"archive id {dict(got)[received]}")
    return f"{len(want)} messages in each archive, stanza-ids match"


async def check(args, runner):
    """After a restart: accounts and rosters survived."""
    domain = args.domain
    a = Client("A", f"{args.user_a}@{domain}", args.password, mech="PLAIN", direct_tls=False)
    # B is slixmpp as it ships: no mechanism chosen, its own channel binding.
    b = Client("B", f"{args.user_b}@{domain}", args.password, mech=None, direct_tls=True, stock_sasl=True)
    runner.clients = [a, b]
    ja, jb = a.boundjid.bare, b.boundjid.bare

    async def roster_has(x, jy):
        await fetch_roster(x)
        sub = x.roster_items.get(jy)
        if sub != "both":
            raise Failure(f"{x.name}: roster item {jy} has subscription {sub!r}, want 'both' (roster {x.roster_items})")
        return f"{jy}: both (ver {x.roster_ver!r})"

    await runner.step("A logs in again over STARTTLS", lambda: login(a, args, register=False))
    await runner.step("A's roster still holds B with subscription both", lambda: roster_has(a, jb))
    await runner.step("B logs in again over direct TLS", lambda: login(b, args, register=False))
    await runner.step("B's roster still holds A with subscription both", lambda: roster_has(b, ja))

    async def archives_kept():
        want = ["hello from A", "hello back from B"]
        for x, y in ((a, b), (b, a)):
            got = [body for body, _ in await archived(x, y)]
            if got != want:
                raise Failure(f"{x.name}: archive with {y.name} holds {got} after the restart, want {want}")
        return "both archives hold the exchange"
    await runner.step("both archives still hold the exchange (XEP-0313)", archives_kept)
    await runner.step("both disconnect cleanly", lambda: close_all(a, b))


async def close_all(*clients):
    for c in clients:
        await c.close()


async def main(args):
    runner = Runner(args.step_timeout)
    t0 = time.monotonic()
    try:
        await (full if args.mode == "full" else check)(args, runner)
    except (Failure, asyncio.TimeoutError, IqError, IqTimeout):
        pass
    finally:
        for c in runner.clients:
            c.closing = True
            try:
                if c.transport is not None and not c.transport.is_closing():
                    c.abort()
            except Exception:  # the connection is already gone: nothing to close
                pass
    print(f"total {took(t0)}", flush=True)
    print(f"{runner.passed} passed, {runner.failed} failed", flush=True)
    return 0 if runner.failed == 0 else 1


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=("full", "check"), default="full")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--domain", default="localhost")
    p.add_argument("--starttls-port", type=int, required=True)
    p.add_argument("--tls-port", type=int, required=True)
    p.add_argument("--user-a", default="alice")
    p.add_argument("--user-b", default="bob")
    p.add_argument("--password", default="e2e-Secret-1")
    p.add_argument("--step-timeout", type=float, default=15.0)
    p.add_argument("--kill-pid", type=int, help="full mode: end by sending SIGKILL to this server pid")
    p.add_argument("--debug", action="store_true", help="log every stanza slixmpp sends and receives")
    return p.parse_args(argv)


if __name__ == "__main__":
    args = parse_args(sys.argv[1:])
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.CRITICAL,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    sys.exit(asyncio.run(main(args)))
