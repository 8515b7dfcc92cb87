#!/usr/bin/env python3
"""Writes the comparison table from loadtest/compare/run.sh's JSON results
into docs/benchmarks.md, between <!-- compare:start --> and <!-- compare:end -->."""
import datetime, glob, json, os, platform, subprocess, sys

out, doc = sys.argv[1], sys.argv[2]
servers = ["meridian", "prosody", "ejabberd"]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def best_chat(s):
    best = None
    for p in glob.glob(os.path.join(out, f"{s}-chat-*.json")):
        r = load(p)
        if not r:
            continue
        ok = r["messages_received"] >= 0.95 * r["messages_sent"] and r["latency_ms"]["p99"] < 50
        if ok and (best is None or r["messages_per_sec"] > best["messages_per_sec"]):
            best = r
    return best


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def version(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
    except Exception:
        return "?"


rows = []
figures = {}
for s in servers:
    chat, idle, login = best_chat(s), load(os.path.join(out, f"{s}-idle.json")), load(os.path.join(out, f"{s}-login.json"))
    if not (chat or idle or login):
        continue
    mps = chat["messages_per_sec"] if chat else 0
    p99 = chat["latency_ms"]["p99"] if chat else float("nan")
    rss = idle["server"]["rss_per_session_bytes"] if idle and idle.get("server") else 0
    conn = idle["connected"] if idle else 0
    lps = login["logins_per_sec"] if login else 0
    figures[s] = (mps, rss, lps)
    rows.append(f"| {s} | {mps:,.0f} | {p99:.1f} ms | {rss/1024:.1f} KB ({conn} sessions) | {lps:,.0f} |")

targets = []
if "meridian" in figures:
    mps, rss, lps = figures["meridian"]
    def verdict(ok, short):
        return "met" if ok else f"short by {short:.0f}%"
    targets = [
        f"- messages/s at p99 < 50 ms ≥ 25,000: {mps:,.0f} — {verdict(mps >= 25000, 100 * (1 - mps / 25000))}",
        f"- memory per idle TLS session ≤ 8 KB: {rss/1024:.1f} KB — {verdict(rss <= 8192, 100 * (rss / 8192 - 1))}",
        f"- logins/s ≥ 1,000: {lps:,.0f} — {verdict(lps >= 1000, 100 * (1 - lps / 1000))}",
    ]

prosody_v = version("prosodyctl about | head -1")
ejabberd_v = version("dpkg-query -W -f='ejabberd ${Version}' ejabberd")
section = "\n".join([
    "<!-- compare:start -->",
    "## Meridian, Prosody and ejabberd side by side",
    "",
    f"Recorded by `loadtest/compare/run.sh` on {datetime.date.today().isoformat()}: {cpu_model()}, {os.cpu_count()} cores. "
    "Each server pinned to CPU 0 (`taskset -c 0`), meridian-load pinned to CPU 1, same scenarios, same run. "
    f"Versions: Meridian (this commit), {prosody_v}, {ejabberd_v}. "
    "Modules and settings per server: `loadtest/compare/README.md`.",
    "",
    "| server | messages/s at p99 < 50 ms | p99 at that rate | RSS per idle authenticated TLS session | logins/s |",
    "|---|---|---|---|---|",
    *rows,
    "",
    "Meridian's targets (server on one core):",
    "",
    *targets,
    "<!-- compare:end -->",
])

text = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n"
start, end = "<!-- compare:start -->", "<!-- compare:end -->"
if start in text and end in text:
    text = text[: text.index(start)] + section + text[text.index(end) + len(end):]
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(doc, "w").write(text)
print(section)
