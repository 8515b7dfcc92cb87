// Converse.js in Debian's Chromium (driven by playwright-core) against a
// running node, once per transport given on the command line
// ("websocket", "bosh"). The page comes from a static server on another
// origin than the node's web listener, as in a real deployment with
// [web] allowed_origins. Per transport: Converse logs in, the session is
// checked to use that transport (/metrics), the echo bot (slixmpp over
// TCP) is added as a contact, a message typed into the chat reaches the
// bot, and the bot's answer shows up in the chat. A screenshot of the
// page is saved under artifacts/ whatever the outcome.
//
// Environment (set by run.sh): WEB_URL, METRICS_URL, STATIC_PORT,
// BOT_JID, BOT_LOG, ARTIFACTS, CONVERSE_USERS (JSON {transport: [jid,
// password]}), WEB_STEP_TIMEOUT, CHROMIUM.

import { createServer } from "node:http";
import { createReadStream, mkdirSync, statSync, writeFileSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { Reporter, botReceived, counter, env, unique, waitFor } from "./lib.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const webURL = env("WEB_URL");
const metricsURL = env("METRICS_URL");
const botJID = env("BOT_JID");
const botLog = env("BOT_LOG");
const artifacts = env("ARTIFACTS", join(here, "artifacts"));
const users = JSON.parse(env("CONVERSE_USERS"));
const transports = process.argv.slice(2);

const endpoint = {
  websocket: { key: "websocket_url", url: webURL.replace(/^http/, "ws") + "/xmpp-websocket" },
  bosh: { key: "bosh_service_url", url: webURL + "/http-bind" },
};

// The static server: the test page at /, Converse's build at /dist/.
const roots = { "/dist/": join(here, "node_modules/converse.js/dist/"), "/": join(here, "page/") };
const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml", ".woff2": "font/woff2", ".png": "image/png" };

function serveStatic(req, res) {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  const prefix = Object.keys(roots).find((p) => path.startsWith(p));
  const root = roots[prefix];
  const file = normalize(join(root, path.slice(prefix.length) || "index.html"));
  try {
    if (!file.startsWith(resolve(root)) || !statSync(file).isFile()) throw new Error("not a file");
  } catch {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "Content-Type": types[extname(file)] ?? "application/octet-stream" });
  createReadStream(file).pipe(res);
}

async function runTransport(r, browser, pageURL, transport) {
  const [jid, password] = users[transport];
  const { key, url } = endpoint[transport];
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  const console_ = [];
  page.on("console", (m) => console_.push(`[${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => console_.push(`[pageerror] ${e.message}`));
  const shot = join(artifacts, `converse-${transport}.png`);
  let shotTaken = false;
  const screenshot = async () => {
    if (shotTaken) return;
    shotTaken = true;
    await page.screenshot({ path: shot }).then(
      () => console.log(`artifact: ${shot}`),
      (e) => console.log(`screenshot failed: ${e.message}`),
    );
  };
  const settings = {
    [key]: url,
    authentication: "login",
    auto_login: true,
    jid,
    password,
    discover_connection_methods: false,
    view_mode: "fullscreen",
    loglevel: "debug",
    allow_non_roster_messaging: true,
    auto_reconnect: false,
    play_sounds: false,
    show_desktop_notifications: false,
    persistent_store: "sessionStorage",
  };
  const before = await counter(metricsURL, "meridian_c2s_connections_total", { transport });
  const name = (what) => `converse/${transport}: ${what}`;
  const body = unique(`hello over ${transport}`);
  try {
    const ok =
      (await r.step(name("page loads and Converse logs in"), async () => {
        await page.goto(`${pageURL}#${encodeURIComponent(JSON.stringify(settings))}`);
        // Connected, or disconnected first (no reconnection is configured):
        // then fail at once with what Converse told its user.
        const outcome = await waitFor(() =>
          page.evaluate(() => {
            const ev = window.meridianEvents?.find((e) => e === "connected" || e === "disconnected");
            return ev && { ev, feedback: window.meridianTest.connfeedback?.get("message") };
          }),
        );
        if (outcome.ev !== "connected") throw new Error(`Converse disconnected: ${outcome.feedback || "no message"}`);
        const bound = await page.evaluate(() => window.meridianTest.api.user.jid());
        return `bound ${bound} via ${url}`;
      })) &&
      (await r.step(name(`the session used ${transport}`), async () => {
        const after = await counter(metricsURL, "meridian_c2s_connections_total", { transport });
        if (!(after > before)) throw new Error(`meridian_c2s_connections_total{transport="${transport}"} is ${after}, was ${before}`);
        return `meridian_c2s_connections_total{transport="${transport}"} ${before} -> ${after}`;
      })) &&
      (await r.step(name("adds the bot as a contact; subscription approved"), async () => {
        await page.evaluate((bot) => window.meridianTest.api.contacts.add(bot, "Echo bot"), botJID);
        const sub = await waitFor(() =>
          page.evaluate((bot) => {
            const s = window.meridianTest.roster?.get(bot)?.get("subscription");
            return s === "to" || s === "both" ? s : null;
          }, botJID),
        );
        return `subscription ${sub}`;
      })) &&
      (await r.step(name("message typed into the chat reaches the bot over TCP"), async () => {
        await page.evaluate((bot) => window.meridianTest.api.chats.open(bot), botJID);
        const textarea = page.locator(`converse-chat[jid="${botJID}"] textarea.chat-textarea`);
        await textarea.waitFor({ state: "visible" });
        await textarea.fill(body);
        await textarea.press("Enter");
        const got = await waitFor(() => botReceived(botLog, body));
        if (!got.from.startsWith(jid + "/")) throw new Error(`bot got it from ${got.from}, not from ${jid}/…`);
        return `from ${got.from}`;
      })) &&
      (await r.step(name("the bot's reply appears in the chat"), async () => {
        const reply = `echo: ${body}`;
        await page.locator(".chat-msg__text", { hasText: reply }).first().waitFor({ state: "visible" });
        return JSON.stringify(reply);
      }));
    // The chat as it is now, before logging out (or at the failure).
    await screenshot();
    if (ok) {
      await r.step(name("logs out"), async () => {
        await page.evaluate(() => window.meridianTest.api.user.logout());
        await waitFor(() => page.evaluate(() => window.meridianEvents.includes("disconnected")));
      });
    }
  } finally {
    await screenshot();
    writeFileSync(join(artifacts, `converse-${transport}.console.log`), console_.join("\n") + "\n");
    await context.close();
  }
}

async function main() {
  mkdirSync(artifacts, { recursive: true });
  const r = new Reporter();
  const server = createServer(serveStatic);
  await new Promise((ok) => server.listen(Number(env("STATIC_PORT")), "127.0.0.1", ok));
  const pageURL = `http://127.0.0.1:${server.address().port}/`;
  let browser;
  try {
    const launched = await r.step("chromium starts", async () => {
      browser = await chromium.launch({
        executablePath: env("CHROMIUM", "/usr/bin/chromium"),
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      });
      return `${browser.version()}, page at ${pageURL}`;
    });
    if (launched) {
      for (const t of transports) await runTransport(r, browser, pageURL, t);
    }
  } finally {
    await browser?.close();
    server.close();
  }
  return r.summary();
}

// Exit even if a hung client left work pending (its step has already failed).
process.exit(await main());
