#!/usr/bin/python3
"""Proves that a server of the comparison works as configured, with slixmpp
(Debian's python3-slixmpp, run with /usr/bin/python3), before any load:

  - a new user registers in-band (XEP-0077),
  - that user and one created with the server's own tool both log in over
    STARTTLS (checked: the stream was upgraded, and the server offered no
    SASL before it), SASL PLAIN or SCRAM,
  - roster get and set, disco#info of the server, ping (XEP-0199),
  - a chat message from one to the other arrives.

  check_xmpp.py --port P --domain D --user alice --password pw --new bob

Prints one line per step and "N passed, N failed" last; exit 1 on failure.
"""

import argparse
import asyncio
import ssl
import sys

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

TIMEOUT = 15


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, register=False, mech=None):
        super().__init__(jid, password, sasl_mech=mech)
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.started = asyncio.Event()
        self.failed = asyncio.Event()
        self.got = asyncio.Queue()
        self.features_seen = []
        self.do_register = register
        self.reg_error = None
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199", {"keepalive": False})
        if register:
            # Registration happens before the session starts; slixmpp holds
            # such stanzas back unless told otherwise.
            self._always_send_everything = True
            self.register_plugin("xep_0004")
            self.register_plugin("xep_0066")
            self.register_plugin("xep_0077", {"create_account": True})
            self.add_event_handler("register", self.on_register)
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("no_auth", lambda _: self.failed.set())  # every mechanism failed
        self.add_event_handler("connection_failed", lambda _: self.failed.set())
        self.add_event_handler("disconnected", lambda _: self.failed.set())
        self.add_event_handler("message", lambda m: self.got.put_nowait(m))
        self.register_handler(Callback("features seen", MatchXPath("{http://etherx.jabber.org/streams}features"),
                                       lambda f: self.features_seen.append([c.tag.split("}")[-1] for c in f.xml])))

    async def on_register(self, _):
        if not self.do_register:
            return
        iq = self.Iq()
        iq["type"] = "set"
        iq["register"]["username"] = self.boundjid.user
        iq["register"]["password"] = self.password
        try:
            await iq.send(timeout=TIMEOUT)
        except IqError as e:
            if e.iq["error"]["condition"] != "conflict":
                self.reg_error = e.iq["error"]["condition"]
                self.failed.set()
        except IqTimeout:
            self.reg_error = "timeout"
            self.failed.set()

    async def on_start(self, _):
        self.send_presence()
        self.started.set()


def mech_of(c):
    try:
        return "SASL " + c["feature_mechanisms"].mech.name
    except Exception:
        return ""


async def login(c, host, port):
    c.connect(address=(host, port), force_starttls=True)
    done, _ = await asyncio.wait(
        [asyncio.ensure_future(c.started.wait()), asyncio.ensure_future(c.failed.wait())],
        timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
    return c.started.is_set()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--domain", default="localhost")
    ap.add_argument("--user", required=True, help="account made with the server's tool")
    ap.add_argument("--password", required=True)
    ap.add_argument("--new", required=True, help="account to register in-band")
    ap.add_argument("--mech", default=None, help="SASL mechanism (default: slixmpp's choice)")
    a = ap.parse_args()
    results = []

    def step(name, ok, detail=""):
        results.append(ok)
        print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)

    new = Client(f"{a.new}@{a.domain}", "pw-" + a.new, register=True, mech=a.mech)
    ok = await login(new, a.host, a.port)
    step("in-band registration + login (new user)", ok, new.reg_error or mech_of(new))
    old = Client(f"{a.user}@{a.domain}", a.password, mech=a.mech)
    ok2 = await login(old, a.host, a.port)
    step("login (user made with the server's tool)", ok2, mech_of(old))
    if not (ok and ok2):
        print(f"0 passed, {results.count(False)} failed" if not any(results) else
              f"{results.count(True)} passed, {results.count(False)} failed")
        return 1
    # STARTTLS: the first features offered starttls and no SASL; the
    # connection is TLS now.
    first = old.features_seen[0] if old.features_seen else []
    tls_obj = old.transport.get_extra_info("ssl_object") if old.transport else None
    step("STARTTLS required before SASL", "starttls" in first and "mechanisms" not in first and tls_obj is not None,
         f"first features {first}; {tls_obj.version() + ' ' + tls_obj.cipher()[0] if tls_obj else 'no TLS'}")
    try:
        info = await old["xep_0030"].get_info(jid=a.domain, timeout=TIMEOUT)
        feats = info["disco_info"]["features"]
        step("disco#info of the server", "http://jabber.org/protocol/disco#info" in feats, f"{len(feats)} features")
    except (IqError, IqTimeout) as e:
        step("disco#info of the server", False, repr(e))
    try:
        rtt = await old["xep_0199"].ping(jid=a.domain, timeout=TIMEOUT)
        step("ping the server (XEP-0199)", True, f"{rtt * 1000:.1f} ms")
    except (IqError, IqTimeout) as e:
        step("ping the server (XEP-0199)", False, repr(e))
    try:
        await old.update_roster(new.boundjid.bare, name="new", timeout=TIMEOUT)
        await old.get_roster(timeout=TIMEOUT)
        # With roster versioning the get may answer "no change" and leave
        # the item to the push that followed the set: slixmpp's copy holds
        # both.
        items = [str(j) for j in old.client_roster.keys()]
        step("roster set + get", new.boundjid.bare in items, f"{items}")
    except (IqError, IqTimeout) as e:
        step("roster set + get", False, repr(e))
    old.send_message(mto=new.boundjid.bare, mbody="hello from check_xmpp", mtype="chat")
    try:
        m = await asyncio.wait_for(new.got.get(), TIMEOUT)
        step("chat message delivered", m["body"] == "hello from check_xmpp", f"from {m['from']}")
    except asyncio.TimeoutError:
        step("chat message delivered", False, "timeout")
    for c in (old, new):
        c.disconnect()
    await asyncio.sleep(0.5)
    print(f"{results.count(True)} passed, {results.count(False)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
