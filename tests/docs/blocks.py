#!/usr/bin/python3
"""blocks.py - the shell blocks of the documentation, for tests/docs/10-blocks.sh.

    blocks.py OUTDIR FILE.md...

Writes each fenced shell block (```sh, ```bash, ```shell, ```console) of the
given files to OUTDIR/N.sh and prints one line per block, tab-separated:

    N  FILE  LINE  MODE  NOTE  EXPECT      (an empty NOTE or EXPECT is "-")

MODE comes from the HTML comments on the lines just above the fence (blank
lines between are allowed):

    <!-- not-run: WHY -->   not run; WHY is printed (required)
    <!-- stream -->         every command line runs under rtg_stream (defined
                            by the runner: a few seconds, then stopped; it must
                            print something)
    <!-- expect: TEXT -->   the block's output must contain TEXT
    (none)                  run as it is

MODE "error" is a block the test must fail: a marker it does not know, a
not-run without a reason, a block without a language whose first line is a
command (a shell block must say so, or it would escape this test), or an
unmarked block that would change the machine (apt, dpkg, systemctl, sudo,
/etc, make deb|install): those are never run. In a ```console block only the
"$ " lines are commands. A missing
FILE is skipped (docs/debian.md is written by another part of the work).
Python 3 standard library only.
"""
import os
import re
import sys

SHELL = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^(\s*)(```+)\s*([A-Za-z0-9_+-]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*(.*?)\s*-->\s*$")
COMMAND = re.compile(r"^\s*(\$ |sudo |make |curl |mosquitto|build/|rtg-|kill |systemctl |apt|"
                     r"cp |for |openssl |scripts/|tests/)")
ASSIGN = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*=")
# Commands that change the machine: never run by the test, so such a block
# without a not-run marker is an error rather than a change to the host.
SYSTEM = re.compile(r"\b(apt-get|apt|dpkg|systemctl|service|useradd|adduser|reboot)\s|"
                    r"\bmake\s+(deb|install)\b|(^|\s)sudo\s|/etc/")


def markers(lines, fence_index):
    """The marker comments just above lines[fence_index], nearest last."""
    found = []
    i = fence_index - 1
    while i >= 0 and not lines[i].strip():
        i -= 1
    while i >= 0:
        m = MARKER.match(lines[i])
        if not m:
            break
        found.insert(0, m.group(1))
        i -= 1
    return found


def classify(marks):
    """(mode, note, expect) from a block's markers."""
    mode, note, expect = "run", "", ""
    for mark in marks:
        key, _, value = mark.partition(":")
        key, value = key.strip(), value.strip()
        if key == "not-run":
            if not value:
                return "error", "a not-run marker needs its reason: <!-- not-run: why -->", ""
            mode, note = "not-run", value
        elif key == "stream" and not value:
            if mode == "run":
                mode = "stream"
        elif key == "expect" and value:
            expect = value
        elif key.startswith(("not-run", "notrun", "no-run", "stream", "expect", "skip")):
            return "error", f"a marker this test does not know: <!-- {mark} -->", ""
    return mode, note, expect


def streamed(body):
    """body with each command line (not an assignment, comment or continuation) run by rtg_stream."""
    out, continued = [], False
    for line in body:
        s = line.strip()
        if not continued and s and not s.startswith("#") and not ASSIGN.match(line):
            line = "rtg_stream " + line.lstrip()
        continued = s.endswith("\\")
        out.append(line)
    return out


def blocks(path):
    """Yields (line, lang, marks, body lines) for each fenced block of path."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, ticks, lang = m.group(1), m.group(2), m.group(3).lower()
        start, body = i, []
        i += 1
        while i < len(lines) and not re.match(r"^\s*" + ticks + r"\s*$", lines[i]):
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        i += 1
        yield start + 1, lang, markers(lines, start), body


def main():
    outdir, files = sys.argv[1], sys.argv[2:]
    n = 0
    for path in files:
        if not os.path.exists(path):
            continue
        for line, lang, marks, body in blocks(path):
            if lang == "console":
                # a transcript: "$ command" lines run, the rest is their output
                body = [line[2:] for line in body if line.startswith("$ ")]
            if lang in SHELL:
                mode, note, expect = classify(marks)
                if mode != "not-run" and any(SYSTEM.search(line) for line in body):
                    mode, note = "error", "changes the machine (apt, systemctl, /etc, ...): mark it <!-- not-run: why -->"
            elif not lang and body and COMMAND.match(body[0]):
                mode, note, expect = "error", "commands in a block without a language: tag it ```sh", ""
            else:
                continue
            n += 1
            if mode == "stream":
                body = streamed(body)
            with open(os.path.join(outdir, f"{n}.sh"), "w", encoding="utf-8") as f:
                f.write("\n".join(body) + "\n")
            print("\t".join([str(n), path, str(line), mode, note or "-", expect or "-"]))


if __name__ == "__main__":
    main()
