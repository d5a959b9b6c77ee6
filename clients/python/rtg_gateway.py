"""rtg_gateway - the seed backends' broadcast calls, over the realtime gateway's HTTP API.

The seed applications pushed to their browsers from inside their own
processes (``await broadcast_notification(data, user_id)``). With the gateway
in front of Mosquitto they keep those calls: each becomes one
``POST /api/broadcast/<kind>`` to rtg-adapter (docs/protocol.md, "HTTP API";
what each kind publishes: profiles/gateway.conf, docs/profiles.md "Broadcast
sections"), authenticated with a service token (``Authorization: Bearer``)
whose roles allow it: ``notifier`` for user topics and announcements,
``publisher`` for market data. Standard library only (urllib, json,
asyncio): it runs wherever Python 3.9+ does.

It does not interpret the data: the body is the caller's dict plus
``"user_id"`` (or ``"ticker"``) where the call names one, and the gateway
decides the topic and the message type (it moves a notification's own
``"type"`` to ``"notification_type"``). It keeps no connection and retries
nothing: a refused call raises GatewayError.

Configuration: ``Gateway(url, token)``, or for the module-level functions the
environment, read at the first call (or ``configure(url=..., token=...)``):

    RTG_URL         the adapter's base URL (default http://127.0.0.1:8000)
    RTG_TOKEN       the service token, or
    RTG_TOKEN_FILE  a file holding it

Seed 002 (hoardrun: ``from app.core.websocket import ...`` becomes)::

    from rtg_gateway import (broadcast_notification, broadcast_transaction_update,
                             broadcast_balance_update, broadcast_market_update,
                             broadcast_system_announcement)

    await broadcast_notification({"id": n.id, "title": n.title, "message": n.message,
                                  "type": "transaction", "priority": "high"}, user_id)
    await broadcast_transaction_update({"transaction_id": "t1", "status": "completed",
                                        "amount": 250.0}, user_id)
    await broadcast_balance_update({"balance": 1520.75, "currency": "USD"}, user_id)
    await broadcast_market_update({"symbol": "BTC-USD", "price": 97000.5}, "market_data")
    await broadcast_system_announcement({"title": "Maintenance", "message": "Sunday 02:00 UTC"})

Seed 000 (credit feedback: ``from realtime.websocket_manager import ...`` becomes)::

    from rtg_gateway import CreditFeedbackStreamer

    await CreditFeedbackStreamer.stream_credit_analysis(user_id, analysis_result)

Seed 003 (trading platform: the ``manager.publish_*`` calls)::

    from rtg_gateway import (publish_price_update, publish_pattern_alert,
                             publish_alert_trigger, publish_market_status)

    await publish_price_update("AAPL", {"price": 150.25, "change": 2.5, "change_percent": 1.69})
    await publish_pattern_alert({"ticker": "AAPL", "pattern_type": "VCP", "score": 8.5})
    await publish_alert_trigger({"ticker": "AAPL", "alert_type": "breakout",
                                 "current_price": 150.25, "user_id": "alice"})
    await publish_market_status({"status": "open", "next_close": "2025-11-18T21:00:00Z"})

Synchronous code (a script, a worker thread) uses the same operations as plain methods::

    from rtg_gateway import Gateway, GatewayError

    gw = Gateway("http://127.0.0.1:8000", token)
    try:
        gw.broadcast_notification({"title": "Hi", "type": "security"}, "alice")
    except GatewayError as err:
        print(err.status, err.message)     # 401, "invalid token: token expired"

The coroutines run the blocking request in a worker thread
(``asyncio.to_thread``), so they never stall the event loop.
"""

import asyncio
import dataclasses
import datetime
import decimal
import enum
import functools
import json
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid

__all__ = [
    "Gateway",
    "GatewayError",
    "configure",
    "default_gateway",
    "broadcast_notification",
    "broadcast_transaction_update",
    "broadcast_balance_update",
    "broadcast_market_update",
    "broadcast_system_announcement",
    "CreditFeedbackStreamer",
    "publish_price_update",
    "publish_pattern_alert",
    "publish_alert_trigger",
    "publish_market_status",
]

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 10.0
# seed 002's room for market data: the gateway's market_data channel (market/+)
MARKET_ROOM = "market_data"


class GatewayError(Exception):
    """A call the gateway refused or could not be made.

    status: the HTTP status (400, 401, 403, 404, 413, 503, ...), or None when
    no answer came (connection refused, timeout). message: the gateway's
    JSON "error" text, or what went wrong.
    """

    def __init__(self, status, message):
        super().__init__(status, message)
        self.status = status
        self.message = message

    def __str__(self):
        if self.status is None:
            return f"gateway unreachable: {self.message}"
        return f"HTTP {self.status}: {self.message}"


# ==== request bodies ==========================================================================


def _json_default(value):
    """JSON for the values service code hands over: datetimes, decimals, enums, ids."""
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _as_dict(data, what):
    """A copy of data as a dict: a mapping, a dataclass or a pydantic model."""
    if isinstance(data, dict):
        return dict(data)
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        return dataclasses.asdict(data)
    for method in ("model_dump", "dict"):  # pydantic 2, pydantic 1
        if callable(getattr(data, method, None)):
            return dict(getattr(data, method)())
    raise TypeError(f"{what} must be a dict, not {type(data).__name__}")


def _with(data, what, **members):
    """data as a dict, with the given members (user_id, ticker) set over its own."""
    body = _as_dict(data, what)
    for key, value in members.items():
        if value is None:
            continue
        # a topic level: a string, or an integer id as it is
        body[key] = value if isinstance(value, (str, int)) and not isinstance(value, bool) else str(value)
    return body


def _read_token_file(path):
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


# ==== the synchronous client ==================================================================


class Gateway:
    """The gateway's broadcast API for one base URL and token. Thread-safe: it
    keeps no state between requests.

    url: default $RTG_URL, else http://127.0.0.1:8000. token: default
    $RTG_TOKEN, else the contents of token_file or $RTG_TOKEN_FILE. Without a
    token every call is refused with GatewayError(401).
    """

    def __init__(self, url=None, token=None, token_file=None, timeout=DEFAULT_TIMEOUT):
        self.url = (url or os.environ.get("RTG_URL") or DEFAULT_URL).rstrip("/")
        if token is None and token_file:
            token = _read_token_file(token_file)
        if token is None and os.environ.get("RTG_TOKEN"):
            token = os.environ["RTG_TOKEN"].strip()
        if token is None and os.environ.get("RTG_TOKEN_FILE"):
            token = _read_token_file(os.environ["RTG_TOKEN_FILE"])
        self.token = token or None
        self.timeout = timeout

    def __repr__(self):
        # never the token
        return f"Gateway({self.url!r}, token={'set' if self.token else 'none'})"

    def _post(self, path, body):
        """POSTs body as JSON; the answer's JSON object, or GatewayError."""
        data = json.dumps(body, default=_json_default, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "rtg-gateway-python/1",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                text = res.read()
        except urllib.error.HTTPError as err:
            raise GatewayError(err.code, _error_text(err)) from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise GatewayError(None, f"{self.url}: {reason}") from None
        try:
            return json.loads(text) if text else {}
        except ValueError:
            return {"body": text.decode("utf-8", "replace")}

    def broadcast(self, kind, body):
        """POST /api/broadcast/<kind> with body (a dict); returns the gateway's
        answer, {"status": "published", "topic": ...}."""
        return self._post("/api/broadcast/" + urllib.parse.quote(kind, safe=""), _as_dict(body, "body"))

    def publish(self, topic, payload, retain=False):
        """POST /api/publish: payload (a dict, sent as JSON, or a string) to one
        topic the token's ACL lets it write."""
        return self._post("/api/publish", {"topic": topic, "payload": payload, "retain": bool(retain)})

    # ---- seed 002 -----------------------------------------------------------------------------

    def broadcast_notification(self, notification_data, user_id):
        """To user/<user_id>/notifications; the data's "type" becomes notification_type."""
        return self.broadcast("notification", _with(notification_data, "notification_data", user_id=user_id))

    def broadcast_transaction_update(self, transaction_data, user_id):
        """To user/<user_id>/transactions as transaction_update."""
        return self.broadcast("transaction", _with(transaction_data, "transaction_data", user_id=user_id))

    def broadcast_balance_update(self, balance_data, user_id):
        """To user/<user_id>/balance as balance_update (retained: the balance)."""
        return self.broadcast("balance", _with(balance_data, "balance_data", user_id=user_id))

    def broadcast_market_update(self, market_data, room=MARKET_ROOM):
        """Seed 002's market data room, "market_data" (the default), is the
        gateway's market broadcast (market/updates; clients that join_room
        market_data or subscribe to market_data get it). Any other room is
        the gateway's rooms/<room> topic, written with /api/publish as
        market_update: the ACL decides (rooms/lobby is open to every user,
        other rooms need a role that may write them)."""
        if room in (None, "", MARKET_ROOM):
            return self.broadcast("market", _as_dict(market_data, "market_data"))
        payload = _as_dict(market_data, "market_data")
        payload.setdefault("type", "market_update")
        return self.publish(f"rooms/{room}", payload)

    def broadcast_system_announcement(self, announcement_data):
        """To system/announcements as system_announcement."""
        return self.broadcast("announcement", _as_dict(announcement_data, "announcement_data"))

    # ---- seed 000 -----------------------------------------------------------------------------

    def stream_credit_analysis(self, user_id, analysis_result):
        """To user/<user_id>/credit as credit_analysis (retained: the latest analysis)."""
        return self.broadcast("credit", _with(analysis_result, "analysis_result", user_id=user_id))

    # ---- seed 003 -----------------------------------------------------------------------------

    def publish_price_update(self, ticker, price_data):
        """To market/<ticker> as price_update (retained: the last price)."""
        return self.broadcast("price", _with(price_data, "price_data", ticker=ticker))

    def publish_pattern_alert(self, pattern_data):
        """To market/patterns/<ticker> as pattern_alert; pattern_data names the ticker."""
        return self.broadcast("pattern", _as_dict(pattern_data, "pattern_data"))

    def publish_alert_trigger(self, alert_data, user_id=None):
        """As alert_trigger: to user/<user_id>/alerts when alert_data (or
        user_id) names the user, else to market/alerts/<ticker>."""
        return self.broadcast("alert", _with(alert_data, "alert_data", user_id=user_id))

    def publish_market_status(self, status_data):
        """To market/status as market_status (retained: the current status)."""
        return self.broadcast("market_status", _as_dict(status_data, "status_data"))


def _error_text(err):
    """The "error" of the gateway's JSON answer, else the body or the reason."""
    try:
        body = err.read().decode("utf-8", "replace")
    except OSError:
        body = ""
    try:
        doc = json.loads(body)
        if isinstance(doc, dict) and doc.get("error"):
            return str(doc["error"])
    except ValueError:
        pass
    return body.strip() or str(err.reason)


# ==== the module-level coroutines (the seeds' own names) ==========================================

_default = None


def configure(url=None, token=None, token_file=None, timeout=DEFAULT_TIMEOUT):
    """Sets the Gateway the module-level functions use; returns it."""
    global _default
    _default = Gateway(url, token, token_file, timeout)
    return _default


def default_gateway():
    """The Gateway of configure(), else one made from the environment at first use."""
    global _default
    if _default is None:
        _default = Gateway()
    return _default


async def _call(name, *args):
    gw = default_gateway()
    return await asyncio.to_thread(getattr(gw, name), *args)


async def broadcast_notification(notification_data, user_id):
    """Seed 002: a notification to one user (see Gateway.broadcast_notification)."""
    return await _call("broadcast_notification", notification_data, user_id)


async def broadcast_transaction_update(transaction_data, user_id):
    """Seed 002: a transaction update to one user."""
    return await _call("broadcast_transaction_update", transaction_data, user_id)


async def broadcast_balance_update(balance_data, user_id):
    """Seed 002: a balance update to one user."""
    return await _call("broadcast_balance_update", balance_data, user_id)


async def broadcast_market_update(market_data, room=MARKET_ROOM):
    """Seed 002: market data to a room's subscribers (see Gateway.broadcast_market_update)."""
    return await _call("broadcast_market_update", market_data, room)


async def broadcast_system_announcement(announcement_data):
    """Seed 002: an announcement to everyone."""
    return await _call("broadcast_system_announcement", announcement_data)


async def publish_price_update(ticker, price_data):
    """Seed 003: a ticker's price."""
    return await _call("publish_price_update", ticker, price_data)


async def publish_pattern_alert(pattern_data):
    """Seed 003: a detected pattern."""
    return await _call("publish_pattern_alert", pattern_data)


async def publish_alert_trigger(alert_data, user_id=None):
    """Seed 003: a triggered alert (see Gateway.publish_alert_trigger)."""
    return await _call("publish_alert_trigger", alert_data, user_id)


async def publish_market_status(status_data):
    """Seed 003: the market's status."""
    return await _call("publish_market_status", status_data)


class _class_or_instance:
    """A method that works on the class (seed 000 calls
    CreditFeedbackStreamer.stream_credit_analysis(...) on the class) and on
    an instance: it receives whichever it was called on."""

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __get__(self, obj, cls):
        owner = cls if obj is None else obj

        @functools.wraps(self.fn)
        async def bound(*args, **kwargs):
            return await self.fn(owner, *args, **kwargs)

        return bound


class CreditFeedbackStreamer:
    """Seed 000's credit feedback streamer. Called on the class it uses the
    module's default Gateway; an instance may carry its own."""

    def __init__(self, gateway=None):
        self.gateway = gateway

    @_class_or_instance
    async def stream_credit_analysis(owner, user_id, analysis_result):
        """Publishes analysis_result (a dict: score, risk level, factors,
        recommendations, ...) as the user's credit_analysis, which seed 000's
        dashboards receive as {"type": "credit_analysis", "data": {...}}."""
        gw = getattr(owner, "gateway", None) if isinstance(owner, CreditFeedbackStreamer) else None
        gw = gw or default_gateway()
        return await asyncio.to_thread(gw.stream_credit_analysis, user_id, analysis_result)
