#!/bin/bash
# 18-tls: transport security with a self-signed certificate made by openssl
# at test time: the adapter serves https:// and wss:// (and SSE over https),
# mosquitto has a TLS listener (MQTT over TLS) with the same JWT plugin, and
# the adapter itself reaches the broker over TLS, checking its certificate.
. "$(dirname "$0")/lib.sh"

# A CA and a server certificate for 127.0.0.1 signed by it.
CERTS=$T_DIR/certs
mkdir -p "$CERTS"
if ! {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=rtg test CA' \
		-keyout "$CERTS/ca.key" -out "$CERTS/ca.pem" &&
		openssl req -newkey rsa:2048 -nodes -subj '/CN=127.0.0.1' \
			-keyout "$CERTS/server.key" -out "$CERTS/server.csr" &&
		printf 'subjectAltName=IP:127.0.0.1\n' >"$CERTS/san.ext" &&
		openssl x509 -req -in "$CERTS/server.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" \
			-CAcreateserial -days 2 -extfile "$CERTS/san.ext" -out "$CERTS/server.pem"
} >"$T_DIR/openssl.log" 2>&1; then
	not_ok "openssl makes a test CA and certificate"
	finish
fi
chmod 644 "$CERTS"/*

TLS_PORT=$(free_port)
broker_conf "$(free_port)" "$RTG_ROOT/acl/acl.conf" "listener $TLS_PORT 127.0.0.1
certfile $CERTS/server.pem
keyfile $CERTS/server.key"
start_broker
wait_until 10 port_open "$TLS_PORT"

ALICE=$(token alice)
PUBLISHER=$(token feed publisher)
TLS_OPTS=(-h 127.0.0.1 -p "$TLS_PORT" -V mqttv311 --cafile "$CERTS/ca.pem")

# ---- MQTT over TLS ---------------------------------------------------------------------------
: >"$T_DIR/tlssub.out"
stdbuf -oL mosquitto_sub "${TLS_OPTS[@]}" -u alice -P "$ALICE" -t market/TLS -F '%t %p' \
	>"$T_DIR/tlssub.out" 2>"$T_DIR/tlssub.err" &
T_PIDS+=($!)
mosquitto_pub "${TLS_OPTS[@]}" -u feed -P "$PUBLISHER" -t market/TLS -m '{"p":1}' -r -q 1 \
	2>>"$T_DIR/clients.log"
check "MQTT over TLS: a JWT client publishes and another receives" \
	wait_until 10 file_has "$T_DIR/tlssub.out" 'market/TLS {"p":1}'
check "MQTT over TLS still checks the token" \
	eval '! mosquitto_pub "${TLS_OPTS[@]}" -u alice -P not-a-token -t market/TLS -m x -q 1 2>/dev/null'
check "a client that does not trust the certificate cannot connect" \
	eval '! mosquitto_pub -h 127.0.0.1 -p "$TLS_PORT" -V mqttv311 --cafile "$CERTS/server.pem" -u feed -P "$PUBLISHER" -t market/TLS -m x -q 1 2>/dev/null'

# ---- the adapter over TLS, to the broker over TLS -------------------------------------------------
ADAPTER_TLS=1 BROKER_PORT=$TLS_PORT start_adapter --tls-cert-file "$CERTS/server.pem" \
	--tls-key-file "$CERTS/server.key" --mqtt-ca-file "$CERTS/ca.pem"
HTTPS="https://127.0.0.1:$ADAPTER_PORT"
WSS="wss://127.0.0.1:$ADAPTER_PORT"
check "the adapter reached the broker over TLS" \
	eval 'curl -s --cacert "$CERTS/ca.pem" "$HTTPS/health" | grep -q "\"broker\":\"connected\""'
check "https:// serves the dashboard" \
	eval 'curl -s --cacert "$CERTS/ca.pem" "$HTTPS/" | grep -qi "<html"'
check "plain http:// on the TLS port gets no page" \
	eval '! curl -s --max-time 5 "http://127.0.0.1:$ADAPTER_PORT/health" | grep -q status'

: >"$T_DIR/wss.out"
"$PY" - "$WSS/ws?token=$ALICE" "$CERTS/ca.pem" >"$T_DIR/wss.out" 2>"$T_DIR/wss.err" <<'PY' &
import asyncio, ssl, sys
import websockets

async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    async with websockets.connect(sys.argv[1], ssl=ctx) as ws:
        await ws.send('{"type":"subscribe","topic":"market/TLS"}')
        for _ in range(6):
            print(await asyncio.wait_for(ws.recv(), 15), flush=True)

asyncio.run(main())
PY
T_PIDS+=($!)
check "wss:// connects with a verified certificate and greets" \
	wait_until 10 file_has "$T_DIR/wss.out" '"type":"connection"'
check "a wss:// client gets the retained value over TLS end to end" \
	wait_until 10 file_has "$T_DIR/wss.out" '"p":1'
pub feed "$PUBLISHER" market/TLS '{"p":2}' -p "$TLS_PORT" --cafile "$CERTS/ca.pem"
check "and a live message published over TLS" wait_until 10 file_has "$T_DIR/wss.out" '"p":2'

: >"$T_DIR/sse.out"
curl -s -N --max-time 20 --cacert "$CERTS/ca.pem" "$HTTPS/sse?topic=market/TLS&token=$ALICE" \
	>"$T_DIR/sse.out" 2>/dev/null &
T_PIDS+=($!)
check "SSE over https streams events" wait_until 10 file_has "$T_DIR/sse.out" '"p":2'

finish
