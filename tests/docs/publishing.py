#!/usr/bin/python3
"""publishing.py - docs/protocol.md's Publishing examples against what a browser got.

    publishing.py PROTOCOL.md SSE_OUTPUT

Reads every ```json block of the "## Publishing" section (what the docs say
browsers get) and the "data:" lines an SSE client printed, and prints one
"ok"/"not ok" line per documented message: a received message must have
exactly the documented members, with the documented values, in the documented
order, but for "seq" and "epoch" (examples in the docs), which must be there.
"""
import json
import re
import sys


def documented(path):
    text = open(path, encoding="utf-8").read()
    start = text.index("\n## Publishing")
    end = text.find("\n## ", start + 5)
    section = text[start:end if end >= 0 else len(text)]
    return [b.strip() for b in re.findall(r"```json\n(.*?)```", section, re.S)]


def received(path):
    out = []
    for line in open(path, encoding="utf-8", errors="replace"):
        if line.startswith("data:"):
            try:
                out.append(json.loads(line[5:].strip()))
            except ValueError:
                pass
    return out


def same(doc, got):
    if list(doc.keys()) != list(got.keys()):
        return False
    return all(doc[k] == got[k] for k in doc if k not in ("seq", "epoch"))


def main():
    docs, got = documented(sys.argv[1]), received(sys.argv[2])
    if not docs:
        print("not ok - docs/protocol.md's Publishing shows what browsers get (no json block)")
    for text in docs:
        doc = json.loads(text)
        label = f"a browser gets {doc['type']} on {doc['topic']}: {text[:70]}..."
        if any(same(doc, g) for g in got):
            print(f"ok - {label}")
        else:
            print(f"not ok - {label}")
            near = [g for g in got if g.get("topic") == doc["topic"]][-4:]
            for g in near:
                print(f"#   got on that topic: {json.dumps(g, separators=(',', ':'))}")


if __name__ == "__main__":
    main()
