#!/usr/bin/python3
"""seq_check.py - checks what an rtg-sub client received in the restart tests.

Usage: seq_check.py FILE ws|sse COUNT TOPIC...

FILE is rtg-sub's output (WebSocket: one message per line; SSE: one
{"id","event","data"} per line). For each TOPIC, the messages seen (live, and
inside "history" replies) must carry K = 1..COUNT (seq_pub.py's counter) each
exactly once, in order, under one epoch with contiguous seq. SSE ids must
increase. Prints "ok" or the first problem, and exits 0 or 1.
"""
import json
import sys

path, mode, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
topics = sys.argv[4:]
seen = {t: [] for t in topics}
last_id = -1


def note(m):
    if isinstance(m, dict) and m.get("topic") in seen and "k" in m:
        seen[m["topic"]].append((m.get("epoch"), m.get("seq"), m["k"]))


for line in open(path, encoding="utf-8"):
    try:
        obj = json.loads(line)
    except ValueError:
        continue
    if mode == "sse":
        if "id" in obj and obj.get("event") not in ("connection", "history"):
            gseq = int(obj["id"].rsplit("-", 1)[1])
            if gseq <= last_id:
                print("SSE id %s does not increase" % obj["id"])
                sys.exit(1)
            last_id = gseq
        obj = obj.get("data")
    if isinstance(obj, dict) and obj.get("type") == "history":
        for m in obj.get("messages", []):
            note(m)
    else:
        note(obj)

for t, msgs in seen.items():
    ks = [k for _, _, k in msgs]
    if ks != list(range(1, count + 1)):
        missing = sorted(set(range(1, count + 1)) - set(ks))
        dups = sorted({k for k in ks if ks.count(k) > 1})
        print("%s: %d messages, missing %s, repeated %s" % (t, len(ks), missing[:10], dups[:10]))
        sys.exit(1)
    epochs = {e for e, _, _ in msgs}
    seqs = [s for _, s, _ in msgs]
    if len(epochs) != 1 or any(b != a + 1 for a, b in zip(seqs, seqs[1:])):
        print("%s: epochs %s, seq not contiguous: %s" % (t, epochs, seqs[:5]))
        sys.exit(1)
print("ok")
