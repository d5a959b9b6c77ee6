#!/usr/bin/python3
"""pyq.py FILE EXPR - evaluates EXPR over the JSON lines of FILE and prints the result.

For the scale-out tests. In EXPR: L (every line), S (the lines since the last greeting:
the current connection), G (the indexes of the greetings), adapter() (the epoch of the current connection's adapter),
greetings(), marks(lines, topic) (the "mark" of each message of topic), sub(lines, topic)
(the last confirmation for topic), hist(lines, topic) (the last history message), U(cid)
(the calculation_update messages of cid), final(cid) (its one final update, or what is wrong).
"""
import json, sys
L = []
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if isinstance(m, dict):
        L.append(m)
def greetings():
    return [m for m in L if m.get("type") == "connection"]
G = [i for i, m in enumerate(L) if m.get("type") == "connection"]  # the greetings' lines
S = L[G[-1]:] if G else L
def adapter():
    return greetings()[-1]["connection_id"].rsplit("-", 1)[0] if greetings() else "none"
def marks(lines, topic):
    return [m.get("mark") for m in lines if m.get("topic") == topic and "seq" in m]
def sub(lines, topic):
    s = [m for m in lines if m.get("type") == "subscription" and m.get("topic") == topic]
    return s[-1] if s else {}
def hist(lines, topic):
    h = [m for m in lines if m.get("type") == "history" and m.get("topic") == topic]
    return h[-1] if h else {}
def U(cid):
    return [m for m in L if m.get("type") == "calculation_update" and m.get("calculation_id") == cid]
def final(cid):
    done = [u for u in U(cid) if u.get("status") in ("completed", "failed")]
    return done[-1] if len(done) == 1 else {"status": "%d final updates" % len(done)}
print(eval(sys.argv[2]))
