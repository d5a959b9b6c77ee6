#!/usr/bin/python3
"""failover_probe.py - how long a browser waits for live messages when the broker dies.

A WebSocket client of the adapter (python3-websockets) subscribes to TOPIC; a
publisher (python3-paho-mqtt) sends a message to TOPIC on the surviving broker
every --interval-ms, each carrying its send time. Once messages arrive, it runs
--kill (a shell command: kill -9 of the active broker, or the removal of its
host) and measures from just before the command to the arrival of the first
message sent after it. Prints "recovery_ms N" and exits 0; exits 1 after
--timeout without one, 2 if the adapter closed the WebSocket (the browser must
stay connected), 3 if no message flowed before the kill.

  failover_probe.py --ws URL --topic T --mqtt-host H --mqtt-port P --user U
                    --token TOKEN --kill CMD [--interval-ms 10] [--timeout 60]
                    [--kill-delay-ms N]
"""
import argparse
import asyncio
import json
import random
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt
import websockets


def parse_args():
    p = argparse.ArgumentParser()
    for name in ("--ws", "--topic", "--mqtt-host", "--user", "--token", "--kill"):
        p.add_argument(name, required=True)
    p.add_argument("--mqtt-port", type=int, required=True)
    p.add_argument("--interval-ms", type=float, default=10.0)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--kill-delay-ms", type=float, default=0.0,
                   help="wait a random 0..N ms after messages flow before the kill "
                        "(a vanished host is noticed at some phase of the keepalive)")
    return p.parse_args()


def publisher(args, stop):
    """Publishes {"probe_t": send time} to the topic until stop is set (its own thread)."""
    c = mqtt.Client(protocol=mqtt.MQTTv311)
    c.username_pw_set(args.user, args.token)
    c.connect(args.mqtt_host, args.mqtt_port, keepalive=30)
    c.loop_start()
    n = 0
    while not stop.is_set():
        n += 1
        c.publish(args.topic, json.dumps({"type": "price_update", "probe_t": time.time(), "n": n}))
        time.sleep(args.interval_ms / 1000.0)
    c.loop_stop()
    c.disconnect()


async def next_probe(ws, deadline):
    """The send time of the next probe message, or None at the deadline."""
    while time.time() < deadline:
        try:
            text = await asyncio.wait_for(ws.recv(), timeout=max(0.01, deadline - time.time()))
        except asyncio.TimeoutError:
            return None
        msg = json.loads(text)
        if msg.get("topic") == args.topic and "probe_t" in msg and "seq" in msg:
            return msg["probe_t"]
    return None


async def run():
    stop = threading.Event()
    pub = threading.Thread(target=publisher, args=(args, stop), daemon=True)
    async with websockets.connect(args.ws, ping_interval=None, open_timeout=args.timeout) as ws:
        await ws.send(json.dumps({"type": "subscribe", "topic": args.topic}))
        pub.start()
        try:
            if await next_probe(ws, time.time() + args.timeout) is None:
                print("no probe message arrived before the kill", file=sys.stderr)
                return 3
            delay = random.uniform(0, args.kill_delay_ms / 1000.0)
            until = time.time() + delay
            while time.time() < until:  # keep reading: the socket must not back up
                await next_probe(ws, until)
            t0 = time.time()
            subprocess.run(args.kill, shell=True, check=False)
            deadline = t0 + args.timeout
            while True:
                sent = await next_probe(ws, deadline)
                if sent is None:
                    print("no message sent after the kill arrived", file=sys.stderr)
                    return 1
                if sent > t0:
                    print("recovery_ms %d" % round((time.time() - t0) * 1000), flush=True)
                    return 0
        except websockets.ConnectionClosed as e:
            print("the adapter closed the WebSocket: %s" % e, file=sys.stderr)
            return 2
        finally:
            stop.set()


args = parse_args()
sys.exit(asyncio.run(run()))
