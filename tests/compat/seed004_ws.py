#!/usr/bin/python3
"""seed004_ws.py - many WebSocket clients at once, and queries over what they got.

For tests/compat/50-seed004-trading-ai-studio.sh: seed 004 has fourteen endpoints,
and each is tried with a token, without one and with a bad one, as two users. One
asyncio process (Debian's python3-websockets, not our code) holds every connection,
where a process per connection would cost a Python each.

  seed004_ws.py run --dir DIR [--timeout S] [--send NAME TEXT]... NAME=URL...
      Connects to every URL at once. DIR/NAME.out gets one line per event, as
      ws_client.py writes them, so lib.sh's has/lacks work on them:
        {"type":"_open","at":EPOCH}                          the handshake completed
        <each text message, as received>
        {"type":"_closed","code":N,"reason":"...","after":S}  S: seconds since _open (or since
                                                               the attempt, when the close came first)
        {"type":"_connect_failed","error":"..."}
      --send NAME TEXT sends TEXT on NAME's connection once it is open (in order).
      Exits when every connection is closed, or closes them all after --timeout.

  seed004_ws.py query FILE EXPR
      Prints EXPR evaluated over FILE's JSON lines (the helpers below), as
      tests/integration/pyq.py does for the other tests.

  seed004_ws.py tty [--timeout S] [--type-after TEXT LINE]... --until TEXT -- CMD ARGS...
      Runs CMD in a pseudo-terminal, as a person at a terminal would (wscat prints
      its "Connected" and "Disconnected (code: ...)" lines only to a terminal).
      Once TEXT appears it types LINE and Enter; stops at the --until TEXT or at
      --timeout. Prints what the terminal showed (colours stripped); exits 0 if
      the --until TEXT appeared, else 1. The child is killed by its pid.
"""
import argparse
import asyncio
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

# ---- run ---------------------------------------------------------------------------------


async def client(name, url, sends, out_dir):
    with open("%s/%s.out" % (out_dir, name), "w", buffering=1) as out:
        # A close sent right after the handshake (4001 at once) may be read while
        # connect() is still returning: "after" then counts from the attempt.
        opened = None
        started = time.monotonic()
        try:
            async with websockets.connect(url, max_size=2 ** 24, open_timeout=30,
                                          ping_interval=None, close_timeout=5) as ws:
                opened = time.monotonic()
                out.write(json.dumps({"type": "_open", "at": time.time()}) + "\n")
                for text in sends:
                    await ws.send(text)
                async for msg in ws:
                    out.write((msg if isinstance(msg, str) else msg.decode("utf-8", "replace")) + "\n")
                code, reason = ws.close_code, ws.close_reason
        except websockets.exceptions.ConnectionClosed as e:
            code = e.rcvd.code if e.rcvd else 1006
            reason = e.rcvd.reason if e.rcvd else ""
        except (OSError, asyncio.TimeoutError, websockets.exceptions.InvalidHandshake) as e:
            out.write(json.dumps({"type": "_connect_failed", "error": str(e)}) + "\n")
            return
        except asyncio.CancelledError:
            # --timeout: the test has what it waited for (or will say what is missing)
            return
        after = round(time.monotonic() - (opened if opened is not None else started), 3)
        out.write(json.dumps({"type": "_closed", "code": code, "reason": reason, "after": after}) + "\n")


async def run(args):
    sends = {}
    for name, text in args.send:
        sends.setdefault(name, []).append(text)
    tasks = []
    for spec in args.urls:
        name, _, url = spec.partition("=")
        tasks.append(asyncio.ensure_future(client(name, url, sends.get(name, []), args.dir)))
    done, pending = await asyncio.wait(tasks, timeout=args.timeout)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return 0


# ---- query -------------------------------------------------------------------------------
# In EXPR: L (every JSON object of the file); live(types) (the data messages of those types
# as they came, not the ones inside a history message); closed() (the _closed line or {});
# data() (every message but _open and _closed); greeted(user, topic) ("ok" or what is
# wrong: the first message is the greeting of user, and topic's subscription is confirmed);
# shape(types, key, topic, fields, want) ("ok", or what is wrong with the live messages of
# those types: there is one, and each is {"type":..., key:{fields...}, "timestamp":"...",
# "topic":topic}; topic may have + levels; fields is "name:num name:str name ..."; want
# holds values the nested object must have); topics() (every topic a message names,
# history contents included); foreign(user) (those not under user/<user>/); ids(types, key)
# (the "id" of each nested payload of those types, live or in history).

L = []


def _types(types):
    return types.split() if isinstance(types, str) else list(types)


def live(types):
    return [m for m in L if m.get("type") in _types(types)]


def closed():
    c = [m for m in L if m.get("type") == "_closed"]
    return c[-1] if c else {}


def data():
    return [m for m in L if m.get("type") not in ("_open", "_closed")]


def greeted(user, topic):
    d = data()
    if not d or d[0].get("type") != "connection" or d[0].get("user_id") != user:
        return "the first message is not the greeting of %s: %s" % (user, json.dumps(d[:1])[:300])
    if not any(m.get("type") == "subscription" and m.get("action") == "subscribed" and
               m.get("topic") == topic for m in d):
        return "no confirmed subscription to %s: %s" % (topic, [m.get("type") for m in d][:10])
    return "ok"


def _topic_matches(pattern, topic):
    p, t = pattern.split("/"), (topic or "").split("/")
    return len(p) == len(t) and all(a in ("+", b) for a, b in zip(p, t))


KINDS = {"num": (int, float), "str": (str,)}


def shape(types, key, topic, fields, want=None):
    got = live(types)
    if not got:
        return "no live %s message; types seen: %s" % (
            "/".join(_types(types)), sorted({str(m.get("type")) for m in L}))
    for m in got:
        inner, text = m.get(key), json.dumps(m)[:400]
        if not isinstance(inner, dict):
            return "no object %r in %s" % (key, text)
        for f in fields.split():
            name, _, kind = f.partition(":")
            if name not in inner:
                return "%s.%s is missing: %s" % (key, name, text)
            if kind and (not isinstance(inner[name], KINDS[kind]) or isinstance(inner[name], bool)):
                return "%s.%s is not a %s: %s" % (key, name, kind, text)
        for name, value in (want or {}).items():
            if inner.get(name) != value:
                return "%s.%s is %r, not %r: %s" % (key, name, inner.get(name), value, text)
        if not isinstance(m.get("timestamp"), str):
            return "no string timestamp: %s" % text
        if not _topic_matches(topic, m.get("topic")):
            return "from topic %r, not %r: %s" % (m.get("topic"), topic, text)
    return "ok"


def topics():
    out = set()
    for m in L:
        if isinstance(m.get("topic"), str):
            out.add(m["topic"])
        for h in m.get("messages", []) if m.get("type") == "history" else []:
            if isinstance(h, dict) and isinstance(h.get("topic"), str):
                out.add(h["topic"])
    return sorted(out)


def foreign(user):
    return [t for t in topics() if not t.startswith("user/%s/" % user)]


def ids(types, key):
    out = set()
    for m in L:
        for x in [m] + (m.get("messages", []) if m.get("type") == "history" else []):
            if isinstance(x, dict) and x.get("type") in _types(types) and isinstance(x.get(key), dict):
                out.add(x[key].get("id"))
    return out


def query(path, expr):
    for line in open(path):
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if isinstance(m, dict):
            L.append(m)
    print(eval(expr))
    return 0


# ---- tty ---------------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def tty(args):
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(args.command[0], args.command)
    # a wide terminal: readline would wrap the long JSON lines of a narrow one
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 400, 0, 0))
    shown, todo = "", list(args.type_after)
    deadline = time.monotonic() + args.timeout
    found = False
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child has gone
                break
            if not data:
                break
            shown += ANSI.sub("", data.decode("utf-8", "replace"))
        while todo and todo[0][0] in shown:
            os.write(fd, (todo.pop(0)[1] + "\r").encode())
        if args.until in shown:
            found = True
            break
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
    os.close(fd)
    sys.stdout.write(shown.replace("\r", ""))
    return 0 if found else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("run")
    r.add_argument("--dir", required=True)
    r.add_argument("--timeout", type=float, default=30.0)
    r.add_argument("--send", nargs=2, action="append", default=[], metavar=("NAME", "TEXT"))
    r.add_argument("urls", nargs="+", metavar="NAME=URL")
    q = sub.add_parser("query")
    q.add_argument("file")
    q.add_argument("expr")
    t = sub.add_parser("tty")
    t.add_argument("--timeout", type=float, default=30.0)
    t.add_argument("--type-after", nargs=2, action="append", default=[], metavar=("TEXT", "LINE"))
    t.add_argument("--until", required=True)
    t.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args()
    if args.mode == "tty":
        args.command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return tty(args)
    if args.mode == "query":
        return query(args.file, args.expr)
    global websockets
    import websockets  # only "run" needs it
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
