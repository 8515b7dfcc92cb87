// Helpers shared by the web-client tests: steps with PASS/FAIL lines in
// the format of tests/e2e (run.sh adds up the counts), polling, /metrics
// and the echo bot's log.

import { readFileSync } from "node:fs";

export const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set (run tests/web/run.sh)`);
  return v;
};

export const stepTimeout = Number(env("WEB_STEP_TIMEOUT", "20")) * 1000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Reporter runs named steps; a failed step is reported and skips the rest
// of its scenario (the caller decides by the returned boolean).
export class Reporter {
  passed = 0;
  failed = 0;

  async step(name, fn, timeout = stepTimeout) {
    const start = performance.now();
    let timer;
    try {
      const detail = await Promise.race([
        fn(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${timeout / 1000}s`)), timeout);
        }),
      ]);
      this.passed++;
      console.log(`PASS  ${name}  (${elapsed(start)})${detail ? ` - ${detail}` : ""}`);
      return true;
    } catch (err) {
      this.failed++;
      console.log(`FAIL  ${name}  (${elapsed(start)}): ${err?.message ?? err}`);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  summary() {
    console.log(`${this.passed} passed, ${this.failed} failed`);
    return this.failed === 0 ? 0 : 1;
  }
}

function elapsed(start) {
  const ms = performance.now() - start;
  return ms < 1000 ? `${ms.toFixed(1)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

// waitFor polls check() until it returns a truthy value, which it returns;
// the step's timeout bounds it.
export async function waitFor(check, interval = 100) {
  for (;;) {
    const v = await check();
    if (v) return v;
    await sleep(interval);
  }
}

// counter reads one sample of a Prometheus counter from /metrics; 0 when
// the series is absent.
export async function counter(metricsURL, name, labels) {
  const res = await fetch(metricsURL);
  if (!res.ok) throw new Error(`GET ${metricsURL}: ${res.status}`);
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of (await res.text()).split("\n")) {
    if (!line.startsWith(name + "{")) continue;
    const [series, value] = line.split(/ (?=[^ ]+$)/);
    const got = series.slice(name.length + 1, -1).split(",");
    if (want.every((l) => got.includes(l))) return Number(value);
  }
  return 0;
}

// botReceived returns the bot's log entry with this body, or undefined.
export function botReceived(logPath, body) {
  let text = "";
  try {
    text = readFileSync(logPath, "utf8");
  } catch {
    return undefined;
  }
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .find((m) => m.body === body);
}

// unique makes message bodies that no earlier run can have produced.
export const unique = (what) => `${what} ${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
