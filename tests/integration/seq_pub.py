#!/usr/bin/python3
"""seq_pub.py - publishes numbered messages for the restart tests.

Usage: seq_pub.py PORT USER TOKEN COUNT RATE PROGRESS TOPIC...

Publishes COUNT messages to each TOPIC, round-robin, at RATE rounds per
second, at QoS 1: {"type":"tick","k":K,"topic_name":TOPIC} with K = 1..COUNT per
topic. Each publish waits for its PUBACK; one whose PUBACK does not come is sent
again by paho after its reconnect. After each round it writes K to PROGRESS,
so a test can wait for a point in the stream.
"""
import sys
import time

import paho.mqtt.client as mqtt

port, user, token, count, rate, progress = sys.argv[1:7]
topics = sys.argv[7:]
count, rate = int(count), float(rate)

c = mqtt.Client(client_id="seq-pub-%d" % time.time_ns(), protocol=mqtt.MQTTv311)
c.username_pw_set(user, token)
c.reconnect_delay_set(0.1, 1)
c.connect("127.0.0.1", int(port), 30)
c.loop_start()

for k in range(1, count + 1):
    start = time.monotonic()
    for t in topics:
        payload = '{"type":"tick","k":%d,"topic_name":"%s"}' % (k, t)
        info = c.publish(t, payload, qos=1)
        while not info.is_published():
            try:
                info.wait_for_publish(timeout=1)
            except (RuntimeError, ValueError):
                time.sleep(0.1)
    with open(progress, "w") as f:
        f.write("%d\n" % k)
    delay = 1.0 / rate - (time.monotonic() - start)
    if delay > 0:
        time.sleep(delay)
c.loop_stop()
c.disconnect()
