#!/usr/bin/python3
"""gap_check.py FILE TOPIC N [--sse] [--replays] - did a client miss anything without being told?

FILE holds what one client received: one JSON message per line (ws_client.py,
rtg-sub) or, with --sse, an SSE stream (the JSON of each "data:" line). TOPIC
is a fresh topic that was published seq 1..N. Checks that the client read
every seq of TOPIC in order, except runs announced by a gap notice
({"type":"gap","topic":..,"from":A,"to":B}) just where they are missing; with
--replays, runs brought back by a replay ("history" with "replay": true and
"from"/"to") count as read, and nothing may arrive twice. Prints one line:
"complete: R read, G gaps (D seq), P replayed, F fillable" and exits 0, or
says what is wrong and exits 1 (2 while TOPIC's seq N has not been accounted
for yet: wait and look again).
"""
import json
import sys


def messages(path, sse):
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if sse:
            if not line.startswith("data:"):
                continue
            line = line[5:].strip()
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if isinstance(m, dict):
            yield m


def main():
    path, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sse, replays = "--sse" in sys.argv, "--replays" in sys.argv
    expect = 1  # the next seq the stream owes: read, or announced missing
    read, gaps, missing, fillable, replayed = 0, 0, 0, 0, []
    for m in messages(path, sse):
        if m.get("type") == "gap" and m.get("topic") == topic:
            a, b = m.get("from"), m.get("to")
            if a != expect or b < a:
                print("gap %s..%s announced where seq %d was owed" % (a, b, expect))
                return 1
            gaps, missing, expect = gaps + 1, missing + b - a + 1, b + 1
            fillable += bool(m.get("fillable"))
        elif m.get("type") == "history" and m.get("replay") and m.get("topic") == topic \
                and "from" in m:
            replayed += [x.get("seq") for x in m.get("messages", [])]
        elif m.get("topic") == topic and "seq" in m and m.get("type") != "history":
            if m["seq"] != expect:
                print("seq %d read where seq %d was owed (no gap notice)" % (m["seq"], expect))
                return 1
            read, expect = read + 1, expect + 1
    if expect <= n:
        print("incomplete: seq %d of %d owed (%d read, %d gaps)" % (expect, n, read, gaps))
        return 2
    if replays:
        have = read + len(replayed)
        if len(set(replayed)) != len(replayed) or have != n:
            print("replays: %d read + %d replayed (%d distinct) for %d" %
                  (read, len(replayed), len(set(replayed)), n))
            return 1
    print("complete: %d read, %d gaps (%d seq), %d replayed, %d fillable" %
          (read, gaps, missing, len(replayed), fillable))
    return 0


if __name__ == "__main__":
    sys.exit(main())
