// xmpp.js (@xmpp/client) in Node over the node's WebSocket endpoint
// (RFC 7395): SASL (SCRAM-SHA-1: plain ws:// is not encrypted, so no PLAIN
// is offered), resource binding, a roster get, a message to the echo bot
// (slixmpp over TCP) and its answer, then xmpp.stop(), which must be met
// by the server's <close/>.
//
// Environment (set by run.sh): WEB_URL, METRICS_URL, DOMAIN, XMPPJS_USER,
// XMPPJS_PASSWORD, BOT_JID, BOT_LOG, WEB_STEP_TIMEOUT.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { client, xml } from "@xmpp/client";
import { Reporter, botReceived, counter, env, unique, waitFor } from "./lib.mjs";

const service = env("WEB_URL").replace(/^http/, "ws") + "/xmpp-websocket";
const metricsURL = env("METRICS_URL");
const botJID = env("BOT_JID");
const botLog = env("BOT_LOG");
const artifacts = env("ARTIFACTS", fileURLToPath(new URL("artifacts", import.meta.url)));
const framing = "urn:ietf:params:xml:ns:xmpp-framing";

async function main() {
  const r = new Reporter();
  const name = (what) => `xmpp.js/websocket: ${what}`;
  const xmpp = client({
    service,
    domain: env("DOMAIN"),
    username: env("XMPPJS_USER"),
    password: env("XMPPJS_PASSWORD"),
    resource: "xmppjs",
  });
  // The whole exchange, kept as an artifact.
  const trace = [];
  xmpp.on("input", (data) => trace.push(`<- ${data}`));
  xmpp.on("output", (data) => trace.push(`-> ${data}`));
  const mechanisms = [];
  const received = [];
  xmpp.on("error", () => {}); // reported by the step that fails
  xmpp.on("nonza", (el) => {
    if (el.is("features")) mechanisms.push(...(el.getChild("mechanisms")?.getChildren("mechanism").map((m) => m.text()) ?? []));
  });
  xmpp.on("stanza", (el) => {
    if (el.is("message") && el.getChildText("body")) received.push(el);
  });
  // No reconnection: a dropped stream must fail the test.
  xmpp.reconnect.stop();

  const before = await counter(metricsURL, "meridian_c2s_connections_total", { transport: "websocket" });
  const body = unique("hello from xmpp.js");
  let online = false;
  try {
    online = await r.step(name("connects, authenticates and binds"), async () => {
      const address = await xmpp.start();
      if (mechanisms.includes("PLAIN")) throw new Error(`PLAIN offered over unencrypted ws:// (${mechanisms.join(" ")})`);
      return `bound ${address} (offered ${mechanisms.join(" ")})`;
    });
    if (!online) return r.summary();
    (await r.step(name("the session used websocket"), async () => {
      const after = await counter(metricsURL, "meridian_c2s_connections_total", { transport: "websocket" });
      if (!(after > before)) throw new Error(`meridian_c2s_connections_total{transport="websocket"} is ${after}, was ${before}`);
      return `${before} -> ${after}`;
    })) &&
      (await r.step(name("roster set, then a roster get answers a result with the item"), async () => {
        const roster = (type, ...items) => xml("iq", { type }, xml("query", { xmlns: "jabber:iq:roster" }, ...items));
        await xmpp.iqCaller.request(roster("set", xml("item", { jid: botJID, name: "Echo bot" })));
        const res = await xmpp.iqCaller.request(roster("get"));
        const query = res.getChild("query", "jabber:iq:roster");
        if (res.attrs.type !== "result" || !query) throw new Error(`unexpected answer ${res}`);
        const item = query.getChildren("item").find((i) => i.attrs.jid === botJID);
        if (!item) throw new Error(`no item for ${botJID} in ${res}`);
        return item.toString();
      })) &&
      (await r.step(name("message reaches the bot over TCP"), async () => {
        await xmpp.send(xml("message", { to: botJID, type: "chat" }, xml("body", {}, body)));
        const got = await waitFor(() => botReceived(botLog, body));
        if (got.from !== xmpp.jid.toString()) throw new Error(`bot got it from ${got.from}, not ${xmpp.jid}`);
        return `from ${got.from}`;
      })) &&
      (await r.step(name("the bot's reply arrives"), async () => {
        const reply = await waitFor(() => received.find((m) => m.getChildText("body") === `echo: ${body}`));
        return `from ${reply.attrs.from}`;
      }));
  } finally {
    if (online) {
      await r.step(name("xmpp.stop() is answered by the server's <close/>"), async () => {
        const el = await xmpp.stop();
        if (!el?.is("close", framing)) throw new Error(`stop() got ${el ?? "no <close/>"}`);
        return el.toString();
      });
    } else {
      await xmpp.stop().catch(() => {});
    }
    const file = join(artifacts, "xmppjs-websocket.trace.log");
    mkdirSync(artifacts, { recursive: true });
    writeFileSync(file, trace.join("\n") + "\n");
    console.log(`artifact: ${file}`);
  }
  return r.summary();
}

// Exit even if a hung client left work pending (its step has already failed).
process.exit(await main());
