#!/usr/bin/env python3
"""Writes the comparison from loadtest/compare/run.sh's results into
docs/benchmarks.md, between <!-- compare:start --> and <!-- compare:end -->
(appended at the end of the file when the markers are absent; nothing
outside them changes).

    table.py OUT_DIR [DOC]      DOC defaults to docs/benchmarks.md; "-" prints only
    table.py --verdict OUT_DIR/SERVER-chat-RATE.json    pass or fail, for run.sh

OUT_DIR holds run.json (the run's settings) and one meridian-load JSON per
harness run: SERVER-provision, SERVER-idle (+ SERVER-idle.rss, the RSS
samples), SERVER-login, SERVER-chat-RATE.
"""
import datetime
import glob
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
START, END = "<!-- compare:start -->", "<!-- compare:end -->"
SERVERS = ["meridian", "prosody", "ejabberd"]
NAMES = {"meridian": "Meridian", "prosody": "Prosody", "ejabberd": "ejabberd"}
# Meridian's targets, server on one core (issue 3).
TARGET_MPS, TARGET_RSS, TARGET_LPS = 25000, 8 * 1024, 1000


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def steady_p99(r, run):
    """The highest per-interval p99 of the load phase after the warm-up,
    leaving out the last (partial) interval: an upper bound of the p99 of
    that window (if every interval has at most 1% above X, so has the
    whole). None when the series is too short to tell."""
    load = [x for x in r.get("series") or [] if x.get("sent", 0) > 0]
    every = run.get("every_s", 1.0)
    skip = int(round(run.get("warmup_s", 0) / every)) if every else 0
    window = load[skip:-1]
    if len(window) < 3:
        return None
    return max(x["p99_ms"] for x in window)


def chat_eval(r, run):
    """(pass, the p99 judged, the whole-window p99, delivered fraction)."""
    sent, recv = r["messages_sent"], r["messages_received"]
    whole = r["latency_ms"]["p99"]
    p99 = whole
    if run.get("p99_basis", "whole") == "steady":
        st = steady_p99(r, run)
        p99 = whole if st is None else st
    delivered = recv / sent if sent else 0.0
    ok = (r["connected"] == run.get("chat_users", r["users"]) and sent > 0
          and delivered >= run.get("min_delivered", 0.95) and p99 < run.get("p99_max_ms", 50))
    return ok, p99, whole, delivered


def chat_ok(r, run):
    return bool(r) and chat_eval(r, run)[0]


def chat_steps(out, s):
    steps = []
    for p in glob.glob(os.path.join(out, f"{s}-chat-*.json")):
        m = re.search(r"-chat-(\d+)\.json$", p)
        r = load(p)
        if m and r:
            steps.append((int(m.group(1)), r))
    return sorted(steps, key=lambda x: x[0])


def settled_rss(out, s, idle):
    """RSS per session after the hold: the last sample (run.sh's sampler)
    with every session still connected, minus RSS before the first login."""
    if not idle or not idle.get("server") or not idle["connected"]:
        return None
    try:
        rows = [l.split() for l in open(os.path.join(out, f"{s}-idle.rss")) if len(l.split()) == 3]
    except OSError:
        return None
    full = [int(r[1]) * 1024 for r in rows if int(r[2]) >= idle["connected"]]
    if not full:
        return None
    return (full[-1] - idle["server"]["rss_bytes_before"]) / idle["connected"]


def harness_cpu(out, name):
    """meridian-load's CPU use in percent of one core (run.sh's NAME.time)."""
    try:
        wall, user, system = (float(x) for x in open(os.path.join(out, name + ".time")).read().split()[:3])
        return 100 * (user + system) / wall if wall > 0 else None
    except (OSError, ValueError):
        return None


def ticks(out, name):
    """run.sh's NAME.srv: server ticks and machine busy ticks, before and
    after a harness run; NAME.time: its wall, user and system seconds."""
    try:
        v = [int(x) for x in open(os.path.join(out, name + ".srv")).read().split()]
        t = [float(x) for x in open(os.path.join(out, name + ".time")).read().split()[:3]]
        return (v, t) if len(v) == 4 and len(t) == 3 and t[0] > 0 else None
    except (OSError, ValueError):
        return None


def server_cpu(out, name):
    """The server's CPU use over a whole harness run, % of one core."""
    x = ticks(out, name)
    return None if x is None else (x[0][2] - x[0][0]) / x[1][0]  # ticks are 1/100 s


def other_cpu(out, name):
    """CPU used by neither the server nor meridian-load during a harness
    run, % of one core: other processes disturbing the measurement."""
    x = ticks(out, name)
    if x is None:
        return None
    (s0, b0, s1, b1), (wall, user, system) = x
    return ((b1 - b0) - (s1 - s0)) / wall - 100 * (user + system) / wall


def logins(out, s, run):
    """{mechanism: result} of the login storms, in run order."""
    found = {}
    for m in run.get("login_mechanisms", []):
        r = load(os.path.join(out, f"{s}-login-{m}.json"))
        if r:
            found[m] = r
    for p in sorted(glob.glob(os.path.join(out, f"{s}-login-*.json"))):
        m = re.search(r"-login-(.+)\.json$", p).group(1)
        if m not in found and load(p):
            found[m] = load(p)
    if not found and load(os.path.join(out, f"{s}-login.json")):
        found[run.get("mechanism", "?")] = load(os.path.join(out, f"{s}-login.json"))
    return found


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        model = re.search(r"^Model name:\s*(.+)$", out, re.M)
        return model.group(1).strip() if model else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def versions(backend):
    v = {}
    for s in SERVERS:
        try:
            v[s] = subprocess.run([os.path.join(HERE, "server.sh"), "version", s], capture_output=True, text=True,
                                  timeout=60, env={**os.environ, "PROSODY_BACKEND": backend}).stdout.strip() or "?"
        except (OSError, subprocess.SubprocessError):
            v[s] = "?"
    return v


def modules():
    """The modules each server had on, read from the configurations."""
    m = {}
    src = open(os.path.join(HERE, "server.sh")).read()
    off = sorted(x.lower() for x in re.findall(r"MERIDIAN_MODULES_(\w+)_ENABLED=false", src))
    all_mods = sorted(d for d in os.listdir(os.path.join(ROOT, "core", "mod"))
                      if os.path.isdir(os.path.join(ROOT, "core", "mod", d)) and d not in ("internal", "all"))
    m["meridian"] = ", ".join(x for x in all_mods if x not in off) + (f" (off: {', '.join(off)})" if off else "")
    cfg = open(os.path.join(HERE, "prosody", "prosody.cfg.lua.in")).read()
    cfg = re.sub(r"--[^\n]*", "", cfg)
    en = re.findall(r'"(\w+)"', re.search(r"modules_enabled\s*=\s*{(.*?)}", cfg, re.S).group(1))
    dis = re.findall(r'"(\w+)"', re.search(r"modules_disabled\s*=\s*{(.*?)}", cfg, re.S).group(1))
    m["prosody"] = (", ".join(en) + " + auto-loaded c2s, presence, message, iq, posix"
                    + (f" (off: {', '.join(dis)})" if dis else ""))
    yml = open(os.path.join(HERE, "ejabberd", "ejabberd.yml.in")).read()
    block = yml.split("\nmodules:", 1)[1]
    m["ejabberd"] = ", ".join(re.findall(r"^  (mod_\w+):", block, re.M))
    return m


def num(v):
    return f"{v:,}" if isinstance(v, (int, float)) else "?"


def kb(b):
    return f"{b / 1024:.1f} KB"


def verdict(path):
    """run.sh's test of one chat step: prints "pass ..." or "fail ..."."""
    r = load(path)
    run = load(os.path.join(os.path.dirname(path), "run.json")) or {}
    if not r:
        print("fail no result")
        return
    ok, p99, whole, dl = chat_eval(r, run)
    print(f"{'pass' if ok else 'fail'} {r['messages_per_sec']:.0f} msgs/s, {100 * dl:.2f}% delivered, "
          f"p99 {p99:.1f} ms (whole step {whole:.1f} ms), {r['connected']}/{r['users']} connected, "
          f"server CPU {(r.get('server') or {}).get('cpu_percent', 0):.0f}%, errors {r.get('errors') or {}}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--verdict":
        return verdict(sys.argv[2])
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    doc = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "docs", "benchmarks.md")
    run = load(os.path.join(out, "run.json")) or {}
    rows, detail, fig = [], [], {}
    for s in SERVERS:
        idle, storms = load(os.path.join(out, f"{s}-idle.json")), logins(out, s, run)
        steps = chat_steps(out, s)
        if not (idle or storms or steps):
            continue
        passing = [(rate, r) for rate, r in steps if chat_ok(r, run)]
        failing = [(rate, r) for rate, r in steps if not chat_ok(r, run)]
        best = max(passing, key=lambda x: x[0]) if passing else None
        first_fail = min(failing, key=lambda x: x[0]) if failing else None
        mps = best[1]["messages_per_sec"] if best else 0.0
        if best:
            # No step failed: the server did more; the ladder ended.
            mps_cell = f"{mps:,.0f}" if first_fail else f"≥ {mps:,.0f}"
            p99_cell = f"{chat_eval(best[1], run)[1]:.1f} ms"
        else:
            lowest = steps[0][0] if steps else 0
            mps_cell = f"< {lowest:,}" if steps else "–"
            p99_cell = f"{chat_eval(steps[0][1], run)[1]:.0f} ms at {lowest:,}/s" if steps else "–"
        rss = settled_rss(out, s, idle)
        rss_now = idle["server"]["rss_per_session_bytes"] if idle and idle.get("server") else None
        if rss is None:
            rss = rss_now
        rss_cell = "–" if rss is None else f"{kb(rss)} ({idle['connected']:,} sessions)"
        cells = []
        for m, r in storms.items():
            c = f"{r['logins_per_sec']:,.0f} {m}"
            if r["connected"] < r["users"]:
                c += f" ({r['connected']}/{r['users']} in)"
            h = harness_cpu(out, f"{s}-login-{m}")
            if h is not None and h >= 90:
                c += " (harness-bound)"
            cells.append(c)
        lps_cell = " / ".join(cells) or "–"
        # The target is checked on PLAIN, where the server does the PBKDF2.
        key = "PLAIN" if "PLAIN" in storms else next(iter(storms), None)
        lps = storms[key]["logins_per_sec"] if key else 0.0
        fig[s] = (mps if best else 0.0, rss, lps)
        rows.append(f"| {NAMES[s]} | {mps_cell} | {p99_cell} | {rss_cell} | {lps_cell} |")
        # Details: where the ladder stopped, CPU, memory right after login.
        bits = []
        if best:
            _, p99, whole, dl = chat_eval(best[1], run)
            bits.append(f"best passing rate {best[0]:,}/s: server CPU {(best[1].get('server') or {}).get('cpu_percent', 0):.0f}%, "
                        f"p99 over the whole step {whole:.1f} ms, {100 * dl:.2f}% delivered")
        if first_fail:
            r = first_fail[1]
            _, p99, whole, dl = chat_eval(r, run)
            bits.append(f"first failing {first_fail[0]:,}/s: p99 {p99:.0f} ms (whole step {whole:.0f} ms), "
                        f"{100 * dl:.1f}% delivered, {r['connected']}/{r['users']} connected"
                        + (f", errors {r['errors']}" if r.get("errors") else ""))
        elif steps:
            bits.append("no rate of the ladder failed (the figure is a lower bound: add higher RATES)")
        if rss_now is not None:
            bits.append(f"RSS/session right after the last login {kb(rss_now)}")
        for m, r in storms.items():
            h = harness_cpu(out, f"{s}-login-{m}")
            bits.append(f"login storm {m}: TLS p50/p99 {r['tls_ms']['p50']:.1f}/{r['tls_ms']['p99']:.1f} ms, "
                        f"auth p50/p99 {r['auth_ms']['p50']:.1f}/{r['auth_ms']['p99']:.1f} ms"
                        + (f", server CPU {server_cpu(out, f'{s}-login-{m}'):.0f}%" if server_cpu(out, f"{s}-login-{m}") is not None else "")
                        + (f", meridian-load CPU {h:.0f}%" if h is not None else ""))
        if best:
            h = harness_cpu(out, f"{s}-chat-{best[0]}")
            if h is not None:
                bits.append(f"meridian-load CPU at the best chat rate {h:.0f}%")
        errs = {}
        for r in [idle] + list(storms.values()) + [r for _, r in steps]:
            for k, v in ((r or {}).get("errors") or {}).items():
                errs[k] = errs.get(k, 0) + v
        if errs:
            bits.append(f"errors over all runs {errs}")
        detail.append(f"- {NAMES[s]}: " + "; ".join(bits) + ".")

    # Other processes on the machine during the measurements.
    noisy = []
    for p in sorted(glob.glob(os.path.join(out, "*.srv"))):
        name = os.path.basename(p)[:-4]
        o = other_cpu(out, name)
        if o is not None and o > 10 and not name.endswith("-provision"):
            noisy.append(f"{name} {o:.0f}%")
    if noisy:
        detail.append("")
        detail.append("**Other processes used the CPU during some measurements** (% of one core; those figures are "
                      "suspect): " + ", ".join(noisy) + ".")

    targets = []
    if "meridian" in fig:
        mps, rss, lps = fig["meridian"]

        def more(v, t, unit):  # higher is better
            return (f"{v:,.0f} {unit}: **met**" if v >= t
                    else f"{v:,.0f} {unit}: **short by {100 * (1 - v / t):.0f}%**")
        targets.append(f"- ≥ {TARGET_MPS:,} messages/s with p99 < {run.get('p99_max_ms', 50)} ms: " + more(mps, TARGET_MPS, "msgs/s"))
        if rss is None:
            targets.append(f"- ≤ 8 KB per idle authenticated TLS session: not measured")
        elif rss <= TARGET_RSS:
            targets.append(f"- ≤ 8 KB per idle authenticated TLS session: {kb(rss)}: **met**")
        else:
            targets.append(f"- ≤ 8 KB per idle authenticated TLS session: {kb(rss)}: **short by {100 * (rss / TARGET_RSS - 1):.0f}%** "
                           f"(over the target; {100 * (1 - TARGET_RSS / rss):.0f}% of it must go)")
        targets.append(f"- ≥ {TARGET_LPS:,} logins/s (SASL PLAIN: the server hashes): " + more(lps, TARGET_LPS, "logins/s"))

    backend = run.get("prosody_backend", "epoll")
    v = versions(backend)
    mods = modules()
    rates = ", ".join(f"{r:,}" for r in run.get("rates", []))
    lines = [
        START,
        "## Meridian, Prosody and ejabberd side by side",
        "",
        f"Recorded by `loadtest/compare/run.sh` on {datetime.date.today().isoformat()}, "
        f"{cpu_model()}, {os.cpu_count()} cores. Each server pinned to CPU {run.get('server_cpu', 0)} "
        f"(`taskset`), meridian-load pinned to CPU {run.get('load_cpu', 1)}; same scenarios, same run, one after the other.",
        "",
        "| server | msgs/s at p99 < 50 ms | p99 at that rate | RSS per idle authenticated TLS session | logins/s |",
        "|---|---|---|---|---|",
        *rows,
        "",
        *detail,
        "",
        "Meridian's targets (server on one core):",
        "",
        *targets,
        "",
        "How it was measured (sizes from the environment of `run.sh`):",
        "",
        f"- All: c2s on 127.0.0.1 with STARTTLS required, one self-signed {'RSA 2048' if run.get('key_type') == 'rsa' else 'ECDSA P-256'} "
        f"certificate shared by the three, {run.get('transport', 'starttls')}; salted SCRAM credentials stored with 4096 "
        f"PBKDF2 iterations on all three; accounts made by in-band registration through meridian-load, then a fresh "
        f"server start; open-file limit raised to the hard limit; connections from source addresses {run.get('sources', '?')}. "
        f"Idle and chat users authenticate with SASL {run.get('mechanism', '?')}.",
        f"- Memory: {num(run.get('idle_users'))} users logged in ({run.get('concurrency', '?')} at a time) and idle for "
        f"{run.get('idle_hold', '?')}; (RSS then − RSS of the fresh server before the first login) / sessions.",
        f"- Logins: a storm of {num(run.get('login_users'))} existing users, {run.get('concurrency', '?')} in flight, once per "
        f"mechanism ({', '.join(run.get('login_mechanisms', [])) or '?'}); logins/s = users logged in / time from first "
        f"connect to last bind. With PLAIN the server runs PBKDF2 for each login; with SCRAM meridian-load does, on its "
        f"one core (\"harness-bound\" when it was at ≥ 90% CPU).",
        f"- Messages: {run.get('chat_users', '?')} users, rosters of {run.get('roster', '?')}, one-to-one chat at total rates "
        f"{rates} msgs/s, {run.get('step', '?')} each after the logins; the ladder stops at p99 ≥ {run.get('p99_max_ms', 50)} ms "
        f"or < {100 * run.get('min_delivered', 0.95):.0f}% delivered, then bisects {run.get('refine', 0)} times; "
        f"the figure is the best passing step's delivered msgs/s; latency is end to end (send to receipt). "
        + (f"The p99 judged is the highest p99 of any {run.get('every_s', 1):g} s interval after the first "
           f"{run.get('warmup_s', 0):g} s of the step (an upper bound of the steady-state p99): "
           f"the harness starts sending 0.5 s after the roster sets and initial presences, and a server still "
           f"working through those carries a backlog into the first seconds. The p99 over the whole step is in the details."
           if run.get("p99_basis") == "steady" else "The p99 judged is over the whole step (send to receipt of every message)."),
        "",
        "| server | version | modules on | settings |",
        "|---|---|---|---|",
        f"| Meridian | {v['meridian']} | {mods['meridian']} | defaults; `modules.register.rate_limit = 0`; one c2s listener |",
        f"| Prosody | {v['prosody']} | {mods['prosody']} | `network_backend = \"{backend}\"`, `network_settings` tcp_backlog 4096, "
        f"opportunistic_writes, no Nagle; no mod_limits; registration unthrottled; `default_iteration_count = 4096`; internal storage |",
        f"| ejabberd | {v['ejabberd']} | {mods['ejabberd']} | listener `shaper: none`, `backlog: 4096`, `max_stanza_size: 262144`; "
        f"`c2s_shaper: none`; `registration_timeout: infinity`; SCRAM in Mnesia; `ERL_MAX_PORTS` 65536 |",
        "",
        "Configurations: `loadtest/compare/prosody/`, `loadtest/compare/ejabberd/`, `loadtest/compare/server.sh`; "
        "details in `loadtest/compare/README.md`.",
        END,
    ]
    section = "\n".join(lines)
    if doc == "-":
        print(section)
        return
    text = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n"
    if START in text and END in text and text.index(START) < text.index(END):
        text = text[:text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(doc, "w") as f:
        f.write(text)
    print(section)


if __name__ == "__main__":
    main()
