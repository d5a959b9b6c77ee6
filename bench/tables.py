#!/usr/bin/python3
"""tables.py - turns bench/run.sh's key=value results into one Markdown table per
scenario (stdout). Usage: tables.py results.txt"""
import sys

COLUMNS = {
    "idle": ("idle", ["label", "mode", "conns", "rss_per_conn_b", "kernel_per_conn_b",
                      "server_rss_kib"]),
    "fanout": ("ceiling", ["label", "mode", "conns", "max_dps", "sustained_dps", "stopped"]),
    "fanout-steps": ("step", ["label", "conns", "target_dps", "dps", "ratio", "lost",
                              "p50_us", "p99_us", "p999_us", "max_us",
                              "cpu_us_per_delivery", "server_cpu_pct", "cpu0_pct", "bench_cpu_pct"]),
    "fixed": ("step", ["label", "mode", "conns", "rate", "dps", "ratio", "lost", "p50_us",
                       "p99_us", "p999_us", "max_us", "cpu_us_per_delivery",
                       "server_cpu_pct", "cpu0_pct", "server_rss_kib"]),
    "topics": ("step", ["label", "conns", "topics", "per_conn", "dps", "ratio", "lost",
                        "p50_us", "p99_us", "max_us", "cpu_us_per_delivery"]),
    "slow": ("step", ["label", "conns", "slow", "slow_closed", "dps", "ratio", "lost",
                      "p50_us", "p99_us", "max_us", "server_rss_kib", "closed"]),
    "churn": ("step", ["label", "conns", "churned", "churn_connect_ms", "dps", "ratio",
                       "lost", "p50_us", "p99_us", "max_us", "cpu_us_per_delivery"]),
}
TITLES = {
    "idle": "1. Idle capacity (per connection: server RSS delta; kernel slab + TCP "
            "buffers, both ends)",
    "connect": "1b. Connections accepted per second (while opening the idle sets)",
    "fanout": "2. Fan-out ceiling, deliveries/s (max_dps: p99 <= 100 ms and no loss; "
              "sustained_dps: no loss and p99 <= 1 s)",
    "fanout-steps": "2b. Fan-out steps",
    "fixed": "3. Fixed load, 100k deliveries/s",
    "topics": "4. 1,000 topics, two per client",
    "slow": "5. Slow consumers (5 % stop reading; figures of the others)",
    "churn": "6. Churn (clients leaving and reconnecting during 1k x 100/s)",
}


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            words = line.split()
            if len(words) < 2 or not words[0].startswith("scenario="):
                continue
            row = dict(w.split("=", 1) for w in words if "=" in w)
            row["kind"] = words[1]
            rows.append(row)
    return rows


def table(title, rows, cols):
    if not rows:
        return
    print(f"### {title}\n")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(r.get(c, "") for c in cols) + " |")
    print()


def main():
    rows = parse(sys.argv[1])
    for key in ["idle", "connect", "fanout", "fanout-steps", "fixed", "topics", "slow",
                "churn"]:
        if key == "connect":
            sel = [r for r in rows if r["scenario"] == "idle" and r["kind"] == "connect"]
            table(TITLES[key], sel, ["label", "ready", "failed", "seconds", "accept_per_s"])
            continue
        scen = key.split("-")[0]
        kind, cols = COLUMNS[key]
        sel = [r for r in rows if r["scenario"] == scen and r["kind"] == kind]
        table(TITLES[key], sel, cols)


main()
