#!/usr/bin/env python3
"""End-to-end test of a running Meridian node with slixmpp, a client library
nobody on the team wrote (Debian's python3-slixmpp; run with /usr/bin/python3).

Two modes:

  full   (default) two users register in-band (XEP-0077), log in (A over
         STARTTLS, B over direct TLS, XEP-0368), subscribe to each other,
         see each other's presence and roster pushes (RFC 6121), exchange
         messages, find them in their archives (XEP-0313), publish and receive personal events (XEP-0163: A
         publishes with publish-options, B reads the item, then advertises
         +notify in its entity capabilities, XEP-0115, and is notified) and
         ping the server (XEP-0199); B's connection is then cut and B
         resumes its stream-managed session (XEP-0198) and gets what A
         sent meanwhile; they publish and read vCards (XEP-0054), keep
         bookmarks in private storage (XEP-0048 over XEP-0049) and block
         each other (XEP-0191), each with slixmpp's own plugin. With
         --kill-pid the last step kill -9s the server with both sessions
         still open; otherwise both close their streams.
  check  after a restart: both users log in again, their rosters still
         hold each other with subscription "both", and A's vCard,
         bookmarks and PEP item are still there, and their archives the
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
import xml.etree.ElementTree as ET

try:
    import slixmpp
    from slixmpp.exceptions import IqError, IqTimeout
    from slixmpp.stanza import StreamFeatures
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import StanzaPath
    from slixmpp.plugins.xep_0048.stanza import Bookmarks
except ImportError as exc:  # pragma: no cover - environment problem
    sys.exit(f"slixmpp is not importable ({exc}); run scripts/deps.sh and use /usr/bin/python3")


# How long one iq may wait for its answer; steps have their own timeout.
IQ_TIMEOUT = 10

# The PEP node of the personal eventing steps.
PEP_NODE = "urn:xmpp:meridian:e2e:0"


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

    def __init__(self, name, jid, password, *, mech, direct_tls, register=False, wire_lines=40, stock_sasl=False, sm=False):
        super().__init__(jid, password, sasl_mech=mech)
        self.name = name
        self.direct_tls = direct_tls
        self.wire = collections.deque(maxlen=wire_lines)
        self.changed = asyncio.Event()
        self.fatal = None  # first connection-level failure, as text
        self.sasl_failures = []
        self.registered = None  # None: not yet; True, or an error text
        self.session_started = False
        self.resumed = False  # a stream management resumption succeeded
        self.available = set()  # bare JIDs seen available
        self.subscribe_requests = set()  # bare JIDs that asked to subscribe
        self.subscribed_by = set()  # bare JIDs that approved our request
        self.pushes = []  # (bare jid, subscription, ask) per roster push item
        self.roster_items = {}  # bare jid -> subscription, from the last fetch
        self.roster_ver = None
        self.messages = []  # (from full jid, body)
        self.stanza_ids = {}  # body -> {by: id} of the message's <stanza-id/>s (XEP-0359)
        self.offered = []  # stream features of the last <stream:features>
        self.pep_items = []  # (node, item id) of PEP notifications received
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
        if sm:
            # Stream management (XEP-0198) as slixmpp ships it: enable
            # with resumption, answer acks, resume after a lost connection.
            self.register_plugin("xep_0198")
            self.add_event_handler("session_resumed", self._on_resumed)
        self.register_plugin("xep_0054")
        self.register_plugin("xep_0049")
        self.register_plugin("xep_0191")
        # XEP-0048 bookmarks as a payload of private storage, without the
        # bookmarks plugin (it would pull in MUC and PubSub).
        self["xep_0049"].register(Bookmarks)
        self.register_plugin("xep_0004")
        self.register_plugin("xep_0060")
        self.register_plugin("xep_0115")
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
        self.add_event_handler("pubsub_publish", self._on_pep)
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

    def _on_resumed(self, _):
        self.resumed = True
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

    def _on_pep(self, msg):
        # slixmpp raises the event once per item while iterating the
        # stanza itself; iterating it again here would restart its
        # iteration, so read the raw XML.
        items = msg["pubsub_event"]["items"]
        for el in items.xml:
            if el.tag == "{http://jabber.org/protocol/pubsub#event}item" and (items["node"], el.get("id")) not in self.pep_items:
                self.pep_items.append((items["node"], el.get("id")))
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
    b = Client("B", f"{args.user_b}@{domain}", args.password, mech="SCRAM-SHA-1", direct_tls=True, register=True, sm=True)
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

    def note(text):
        return ET.fromstring(f"<note xmlns='{PEP_NODE}'>{text}</note>")

    async def pep_publish():
        form = a["xep_0004"].make_form(ftype="submit")
        form.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#publish-options")
        form.add_field(var="pubsub#access_model", value="presence")
        form.add_field(var="pubsub#persist_items", ftype="boolean", value=True)
        await a["xep_0060"].publish(None, PEP_NODE, id="first", payload=note("first"), options=form, timeout=IQ_TIMEOUT)
        resp = await b["xep_0060"].get_items(ja, PEP_NODE, timeout=IQ_TIMEOUT)
        got = [(it["id"], it["payload"].text if it["payload"] is not None else None) for it in resp["pubsub"]["items"]]
        if got != [("first", "first")]:
            raise Failure(f"B read {got} from A's node, want [('first', 'first')]")
        return f"{PEP_NODE} item 'first', read by B"
    await runner.step("A publishes to its PEP node with publish-options; B, a contact, reads it (XEP-0163)", pep_publish)

    async def pep_notify():
        # B asks for the node's notifications in its caps: the server asks
        # B's client what its caps mean, checks the hash and sends the
        # last item; then a new item is notified.
        b["xep_0030"].add_feature(PEP_NODE + "+notify")
        await b["xep_0115"].update_caps(broadcast=False)
        b.send_presence()
        await b.until("the last item of A's node", lambda: (PEP_NODE, "first") in b.pep_items)
        await a["xep_0060"].publish(None, PEP_NODE, id="second", payload=note("second"), timeout=IQ_TIMEOUT)
        await b.until("a notification of A's new item", lambda: (PEP_NODE, "second") in b.pep_items)
        return f"B received {b.pep_items}"
    await runner.step("B advertises +notify (XEP-0115): it gets the last item, then A's new one", pep_notify)

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

    async def resume():
        sm = b["xep_0198"]
        await b.until("stream management with resumption (XEP-0198)", lambda: bool(sm.sm_id))
        previd = sm.sm_id
        # Cut B's connection without closing the stream, as a phone losing
        # its network does; A writes while B is away.
        b.closing = True
        b.transport.abort()
        await b.until("the connection to drop", lambda: b.transport is None or b.transport.is_closing())
        a.send_message(mto=jb, mbody="sent while B was away", mtype="chat")
        await a["xep_0199"].send_ping(domain, timeout=IQ_TIMEOUT)
        b.closing = False
        b["xep_0077"].create_account = False  # the account exists now
        b.connect((args.host, args.tls_port), use_ssl=True)
        await b.until("the session to be resumed", lambda: b.resumed)
        await b.until("the message sent while B was away",
                      lambda: any(body == "sent while B was away" for _, body in b.messages))
        if b.session_started is not True:
            raise Failure("B: lost its session state")
        return f"resumed {previd[:8]}..., h={sm.handled}"
    await runner.step("B's connection is cut; B resumes (XEP-0198) and gets what A sent meanwhile", resume)
    async def vcards():
        card = a["xep_0054"].make_vcard()
        card["FN"] = "Alice E2E"
        await a["xep_0054"].publish_vcard(card, timeout=IQ_TIMEOUT)
        got = await b["xep_0054"].get_vcard(ja, local=False, timeout=IQ_TIMEOUT)
        if got["vcard_temp"]["FN"] != "Alice E2E":
            raise Failure(f"B: A's vCard has FN {got['vcard_temp']['FN']!r}")
        own = await a["xep_0054"].get_vcard(ja, local=False, timeout=IQ_TIMEOUT)
        if own["vcard_temp"]["FN"] != "Alice E2E":
            raise Failure(f"A: own vCard has FN {own['vcard_temp']['FN']!r}")
        await expect_error(a["xep_0054"].get_vcard(jb, local=False, timeout=IQ_TIMEOUT), "item-not-found")
        return "A's vCard read by B; B has none: item-not-found"
    await runner.step("A publishes a vCard, B reads it (XEP-0054)", vcards)

    async def bookmarks():
        bm = Bookmarks()
        bm.add_conference("room@conference.example.org", "al", name="Room", autojoin=True)
        await a["xep_0049"].store(bm, timeout=IQ_TIMEOUT)
        return check_bookmarks(await a["xep_0049"].retrieve("bookmarks", timeout=IQ_TIMEOUT))
    await runner.step("A keeps bookmarks in private storage (XEP-0048 over XEP-0049)", bookmarks)

    async def blocking():
        empty = await b["xep_0191"].get_blocked(timeout=IQ_TIMEOUT)
        if empty["blocklist"]["items"]:
            raise Failure(f"B: blocklist not empty: {empty['blocklist']['items']}")
        pushed = asyncio.get_running_loop().create_future()
        b.add_event_handler("blocked", lambda iq: pushed.done() or pushed.set_result(iq))
        await b["xep_0191"].block(ja, timeout=IQ_TIMEOUT)
        await asyncio.wait_for(pushed, IQ_TIMEOUT)
        listed = await b["xep_0191"].get_blocked(timeout=IQ_TIMEOUT)
        if {str(j) for j in listed["blocklist"]["items"]} != {ja}:
            raise Failure(f"B: blocklist {listed['blocklist']['items']}, want {ja}")
        # B cannot reach A (not-acceptable + <blocked/>), A cannot reach B
        # (service-unavailable: B looks offline).
        err = await expect_error(b["xep_0199"].send_ping(a.boundjid.full, timeout=IQ_TIMEOUT), "not-acceptable")
        if "urn:xmpp:blocking:errors" not in str(err.iq):
            raise Failure(f"B: no <blocked/> in {err.iq}")
        await expect_error(a["xep_0199"].send_ping(b.boundjid.full, timeout=IQ_TIMEOUT), "service-unavailable")
        await b["xep_0191"].unblock(ja, timeout=IQ_TIMEOUT)
        resp = await a["xep_0199"].send_ping(b.boundjid.full, timeout=IQ_TIMEOUT)
        if resp["type"] != "result":
            raise Failure(f"A: ping to B after unblock answered with {resp['type']!r}")
        return "push, blocklist, not-acceptable/<blocked/> one way, service-unavailable the other, unblock"
    await runner.step("B blocks A and unblocks (XEP-0191)", blocking)

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

    async def kept():
        got = await b["xep_0054"].get_vcard(ja, local=False, timeout=IQ_TIMEOUT)
        if got["vcard_temp"]["FN"] != "Alice E2E":
            raise Failure(f"B: A's vCard has FN {got['vcard_temp']['FN']!r}")
        return check_bookmarks(await a["xep_0049"].retrieve("bookmarks", timeout=IQ_TIMEOUT))
    await runner.step("A's vCard and bookmarks survived", kept)
    async def pep_kept():
        resp = await a["xep_0060"].get_items(None, PEP_NODE, timeout=IQ_TIMEOUT)
        ids = [it["id"] for it in resp["pubsub"]["items"]]
        if ids != ["second"]:
            raise Failure(f"A's node holds {ids}, want ['second'] (max_items 1)")
        return f"{PEP_NODE}: {ids}"
    await runner.step("A's PEP item survived the restart", pep_kept)
    async def archives_kept():
        # The resumption step added the message A sent while B was away.
        want = ["hello from A", "hello back from B", "sent while B was away"]
        for x, y in ((a, b), (b, a)):
            got = [body for body, _ in await archived(x, y)]
            if got != want:
                raise Failure(f"{x.name}: archive with {y.name} holds {got} after the restart, want {want}")
        return "both archives hold the exchange"
    await runner.step("both archives still hold the exchange (XEP-0313)", archives_kept)
    await runner.step("both disconnect cleanly", lambda: close_all(a, b))


def check_bookmarks(res):
    confs = res["private"]["bookmarks"]["conferences"]
    if len(confs) != 1 or str(confs[0]["jid"]) != "room@conference.example.org" or confs[0]["nick"] != "al" or not confs[0]["autojoin"]:
        raise Failure(f"bookmarks: {res['private']}")
    return f"{confs[0]['jid']} as {confs[0]['nick']}"


async def expect_error(request, condition):
    """Awaits an iq that must fail with condition; returns the IqError."""
    try:
        res = await request
    except IqError as err:
        if err.condition != condition:
            raise Failure(f"error {err.condition!r}, want {condition!r}: {err.iq}")
        return err
    raise Failure(f"result {res}, want error {condition!r}")


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
