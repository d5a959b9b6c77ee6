"""compat_harness - what the seeds' Python client tests share (seed000_python_client.py,
seed001_python_client.py): "ok"/"not ok" reporting for lib.sh's py_test, polling, the
verbatim check of a snippet against its seed document, and the seed's client run as a
program of its own. It knows no seed: the snippets, their changes and the assertions stay
in each test. Python's twin of browser/common.mjs.

  step(name, fn)                  runs one case: "ok - NAME", "ok - NAME # SKIP why" (fn raises
                                  Skip(why)) or "not ok - NAME" with "#   " detail lines
  done()                          the exit status: 1 if any case failed or none ran
  until(fn, timeout, what)        polls fn every 50 ms; AssertionError(what()) at the deadline
  check_verbatim(heading, lang, snippet)   the first ```lang block after the line `heading` of
                                  $RTG_SEED_DOC is snippet (blanks folded); Skip without the document
  Program(path, source)           writes source to path and runs it with Debian's python3;
                                  received() is what it printed as "Received: {dict}"; stop()
  brief(msgs)                     [type, topic|message|user_id] of the last 30 messages, as JSON

Threads: Program reads its child's stdout on a thread of its own; everything else runs on
the caller's thread.
"""

import ast
import json
import os
import re
import subprocess
import threading
import time

# ==== reporting ==================================================================================

PASSED = 0
FAILED = 0


class Skip(Exception):
    """A case that cannot run here: "ok - NAME # SKIP why"."""


def step(name, fn):
    global PASSED, FAILED
    try:
        fn()
    except Skip as why:
        PASSED += 1
        print(f"ok - {name} # SKIP {why}", flush=True)
        return True
    except Exception as err:  # an AssertionError above all; anything else is a failure too
        FAILED += 1
        print(f"not ok - {name}", flush=True)
        text = str(err) if isinstance(err, AssertionError) else f"{type(err).__name__}: {err}"
        for line in text.splitlines()[:20]:
            print(f"#   {line}", flush=True)
        return False
    PASSED += 1
    print(f"ok - {name}", flush=True)
    return True


def done():
    """The test's exit status: 1 if any case failed, or if none ran; else 0."""
    return 1 if FAILED or not PASSED else 0


def until(fn, timeout, what):
    """Polls fn every 50 ms until it returns something true; AssertionError(what()) at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"after {timeout} s: {what()}")
        time.sleep(0.05)


# ==== the seed's text ==============================================================================


def seed_block(text, heading, lang):
    """The first ```lang block after the line `heading`, or None."""
    lines = text.split("\n")
    try:
        at = next(i for i, line in enumerate(lines) if line.strip() == heading)
    except StopIteration:
        return None
    m = re.search(r"```" + lang + r"\n(.*?)\n```", "\n".join(lines[at + 1 :]), re.S)
    return m.group(1) if m else None


def normalised(s):
    return " ".join(s.split())


def text_diff(a, b):
    wa, wb = normalised(a).split(" "), normalised(b).split(" ")
    i = 0
    while i < len(wa) and i < len(wb) and wa[i] == wb[i]:
        i += 1
    return f"first difference at word {i + 1}: {' '.join(wa[max(0, i - 4):i + 6])!r} / {' '.join(wb[max(0, i - 4):i + 6])!r}"


def check_verbatim(heading, lang, snippet):
    doc_path = os.environ.get("RTG_SEED_DOC", "")
    if not doc_path:
        raise Skip("no seed documents here")
    with open(doc_path, encoding="utf-8") as f:
        doc = seed_block(f.read(), heading, lang)
    assert doc is not None, f"{doc_path} has no {lang} block under {heading!r}"
    assert normalised(doc) == normalised(snippet), f"the document's snippet differs: {text_diff(doc, snippet)} (document / test)"


# ==== the seed's program as a child process =======================================================


class Program:
    """A Python program run with Debian's python3; its stdout lines are collected."""

    def __init__(self, path, source):
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        self.lines = []
        self.lock = threading.Lock()
        self.err = open(path + ".log", "w", encoding="utf-8")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-u", path], stdout=subprocess.PIPE, stderr=self.err, text=True
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        # runs on the reader thread: only appends, under the lock
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def received(self):
        """What the seed printed as "Received: {data}", each parsed back into its dict."""
        with self.lock:
            lines = list(self.lines)
        out = []
        for line in lines:
            if line.startswith("Received: "):
                out.append(ast.literal_eval(line[len("Received: ") :]))
        return out

    def stderr(self):
        self.err.flush()
        with open(self.err.name, encoding="utf-8") as f:
            return f.read()[-1500:]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()


def brief(msgs):
    return json.dumps([[m.get("type"), m.get("topic") or m.get("message") or m.get("user_id")] for m in msgs][-30:])
