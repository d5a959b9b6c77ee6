#!/usr/bin/python3
"""seed002_backend.py - seed 002's (hoardrun notifications) own backend code against the gateway.

The hoardrun backend pushed to its browsers from inside its FastAPI process
(``from app.core.websocket import broadcast_notification, ...``). Against the
gateway the same calls come from clients/python/rtg_gateway.py, which POSTs
them to rtg-adapter's broadcast API. The seed's three Python snippets are
below, each copied verbatim from the seed document between "---- seed 002"
and "---- end" lines; the one line that differs in each is its import
(``app.core.websocket`` -> ``rtg_gateway``), and the comment above each says
so. The URL and the token come from the environment, as rtg_gateway reads
them (RTG_URL, RTG_TOKEN): no snippet names either.

    seed002_backend.py check SEED_DOC     the copies below equal the document's
                                          snippets (whitespace-normalised): one
                                          "ok -"/"not ok -" line each
    seed002_backend.py notify USER        "Notifications Service Integration" for
                                          four notifications (see notify())
    seed002_backend.py functions USER     "Broadcasting Functions Available"
    seed002_backend.py service USER       "Backend Service Integration"
    seed002_backend.py room ROOM          broadcast_market_update(data, ROOM): the
                                          seed's call with a room of its own

Each phase prints one JSON line per request the gateway answered,
{"path": ..., "body": ..., "answer": ...}, and exits 0; a refused request
raises rtg_gateway.GatewayError and exits 1. Run with Debian's /usr/bin/python3
(standard library only).
"""
import asyncio
import dataclasses
import datetime
import enum
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))

import rtg_gateway  # noqa: E402  (after the path is set)

# ==== the seed's domain objects, as its snippets use them =======================================


class NotificationType(enum.Enum):
    TRANSACTION = "transaction"
    SECURITY = "security"
    SAVINGS = "savings"
    BALANCE = "balance"


class NotificationPriority(enum.Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class NotificationChannel(enum.Enum):
    IN_APP = "in_app"
    EMAIL = "email"
    SMS = "sms"


@dataclasses.dataclass
class Notification:
    id: str
    title: str
    message: str
    type: NotificationType
    priority: NotificationPriority
    metadata: dict
    created_at: datetime.datetime


@dataclasses.dataclass
class NotificationRequest:
    channels: list


@dataclasses.dataclass
class TransactionRequest:
    user_id: str
    amount: float


@dataclasses.dataclass
class TransactionResult:
    id: str
    status: str
    amount: float
    completed_at: datetime.datetime


# ==== seed 002's snippets ========================================================================

# "Notifications Service Integration" (the notifications service, after a
# notification is created). Verbatim; it runs as the body of this coroutine,
# whose parameters are the names it uses.
async def notifications_service(request, notification, user_id):
    # ---- seed 002 "Notifications Service Integration" (verbatim) ----
    # Automatic WebSocket broadcasting when notifications are created
    if NotificationChannel.IN_APP in request.channels:
        await broadcast_notification({
            "id": notification.id,
            "title": notification.title,
            "message": notification.message,
            "type": notification.type.value,
            "priority": notification.priority.value,
            "metadata": notification.metadata,
            "created_at": notification.created_at.isoformat()
        }, user_id)
    # ---- end of the seed's snippet ----


# "Broadcasting Functions Available": the five calls a service makes. Changed:
# the import line only (app.core.websocket -> rtg_gateway, the gateway's
# client); it runs as the body of this coroutine.
async def broadcasting_functions(notification_data, transaction_data, balance_data, market_data,
                                 announcement_data, user_id):
    # ---- seed 002 "Broadcasting Functions Available" ----
    from rtg_gateway import (
        broadcast_notification,
        broadcast_transaction_update,
        broadcast_balance_update,
        broadcast_market_update,
        broadcast_system_announcement
    )

    # Send notification to specific user
    await broadcast_notification(notification_data, user_id)

    # Send transaction update
    await broadcast_transaction_update(transaction_data, user_id)

    # Send balance update
    await broadcast_balance_update(balance_data, user_id)

    # Send market data to room subscribers
    await broadcast_market_update(market_data, "market_data")

    # Broadcast system announcement to all users
    await broadcast_system_announcement(announcement_data)
    # ---- end of the seed's snippet ----


# "Backend Service Integration", at module level as the seed has it. Changed:
# the import line, which (1) names rtg_gateway instead of app.core.websocket
# and (2) also imports broadcast_transaction_update: the seed's snippet
# imports only broadcast_notification yet calls broadcast_transaction_update,
# a NameError as written (a bug of the snippet, the smallest fix).
# ---- seed 002 "Backend Service Integration" ----
from rtg_gateway import broadcast_notification, broadcast_transaction_update

# In your service method
async def process_transaction(self, transaction_data):
    # Process transaction
    result = await self.complete_transaction(transaction_data)
    
    # Send real-time update
    await broadcast_transaction_update({
        "transaction_id": result.id,
        "status": result.status,
        "amount": result.amount,
        "timestamp": result.completed_at.isoformat()
    }, transaction_data.user_id)
    
    return result
# ---- end of the seed's snippet ----


class TransactionService:
    """The seed's service class the method above belongs to."""

    process_transaction = process_transaction

    async def complete_transaction(self, transaction_data):
        return TransactionResult(
            id="txn-seed002-service", status="completed", amount=transaction_data.amount,
            completed_at=datetime.datetime(2025, 1, 15, 10, 30, 5, tzinfo=datetime.timezone.utc))


# ==== the verbatim check ==========================================================================

# (our snippet's begin marker, the document's heading before its block, [(document text,
# our text)]: the changes named above, each of which must apply exactly once)
SNIPPETS = [
    ('# ---- seed 002 "Notifications Service Integration" (verbatim) ----',
     "**Notifications Service Integration**", []),
    ('# ---- seed 002 "Broadcasting Functions Available" ----',
     "Broadcasting Functions Available",
     [("from app.core.websocket import (", "from rtg_gateway import (")]),
    ('# ---- seed 002 "Backend Service Integration" ----',
     "### Backend Service Integration:",
     [("from app.core.websocket import broadcast_notification",
       "from rtg_gateway import broadcast_notification, broadcast_transaction_update")]),
]


def normalised(text):
    return re.sub(r"\s+", " ", text).strip()


def our_copy(marker):
    with open(os.path.abspath(__file__), encoding="utf-8") as f:
        src = f.read()
    start = src.index(marker + "\n") + len(marker) + 1
    end = src.index("# ---- end of the seed's snippet ----", start)
    return src[start:end]


def seed_block(doc, heading):
    at = doc.find(heading)
    if at < 0:
        return None
    m = re.compile(r"```python\n(.*?)\n```", re.S).search(doc, at)
    return m.group(1) if m else None


def check(doc_path):
    with open(doc_path, encoding="utf-8") as f:
        doc = f.read()
    failed = 0
    for marker, heading, changes in SNIPPETS:
        name = "seed 002 (hoardrun notifications): the %s snippet in seed002_backend.py is the document's" % heading.strip("#*: ")
        block = seed_block(doc, heading)
        if block is None:
            print("not ok - %s\n#   no python block after %r in %s" % (name, heading, doc_path))
            failed += 1
            continue
        want = block
        bad = [old for old, _ in changes if want.count(old) != 1]
        for old, new in changes:
            want = want.replace(old, new)
        if bad or normalised(want) != normalised(our_copy(marker)):
            print("not ok - %s\n#   the document's block (with our named changes: %s):" % (name, bad or "applied"))
            for line in want.splitlines():
                print("#   | " + line)
            failed += 1
        else:
            print("ok - %s" % name)
    return 1 if failed else 0


# ==== the phases ==================================================================================


def log_requests():
    """Prints each request rtg_gateway makes and the gateway's answer (one JSON line)."""
    gw = rtg_gateway.default_gateway()
    post = gw._post

    def logged(path, body):
        answer = post(path, body)
        print(json.dumps({"path": path, "body": body, "answer": answer}, default=str), flush=True)
        return answer

    gw._post = logged


CREATED = datetime.datetime(2025, 1, 15, 10, 30, 0, tzinfo=datetime.timezone.utc)


async def notify(user_id):
    """Four notifications through the seed's notifications service: a
    transaction one (in the page's subscribe_notifications list), an email-only
    one (the snippet's `if` sends nothing), a savings one (not in the list) and
    a security one (in the list), in that order."""
    in_app = NotificationRequest(channels=[NotificationChannel.IN_APP, NotificationChannel.EMAIL])
    email = NotificationRequest(channels=[NotificationChannel.EMAIL])
    for request, n in [
        (in_app, Notification("ntf-transaction", "Payment received", "You received $250.00 from Ama",
                              NotificationType.TRANSACTION, NotificationPriority.HIGH,
                              {"transaction_id": "txn-881", "amount": 250.0}, CREATED)),
        (email, Notification("ntf-email-only", "Monthly statement", "Your statement is ready",
                             NotificationType.TRANSACTION, NotificationPriority.LOW, {}, CREATED)),
        (in_app, Notification("ntf-savings", "Savings goal", "You reached 50% of your goal",
                              NotificationType.SAVINGS, NotificationPriority.NORMAL,
                              {"goal_id": "g-7"}, CREATED)),
        (in_app, Notification("ntf-security", "New sign-in", "A new device signed in",
                              NotificationType.SECURITY, NotificationPriority.HIGH,
                              {"device": "Pixel 8", "ip": "192.0.2.7"}, CREATED)),
    ]:
        await notifications_service(request, n, user_id)


async def functions(user_id):
    await broadcasting_functions(
        notification_data={"id": "ntf-functions", "title": "Balance low",
                           "message": "Your balance is below $100", "type": "balance",
                           "priority": "normal", "metadata": {"threshold": 100}},
        transaction_data={"transaction_id": "txn-functions", "status": "pending", "amount": 75.5},
        balance_data={"account_id": "acc-functions", "balance": 1520.75, "currency": "USD"},
        market_data={"symbol": "BTC-USD", "price": 97000.5, "change_24h": -1.25,
                     "source": "seed002-functions"},
        announcement_data={"title": "Scheduled maintenance",
                           "message": "Sunday 02:00-03:00 UTC", "severity": "info"},
        user_id=user_id)


async def service(user_id):
    await TransactionService().process_transaction(TransactionRequest(user_id=user_id, amount=42.5))


async def room(name):
    await rtg_gateway.broadcast_market_update(
        {"symbol": "EUR-GHS", "rate": 13.42, "source": "seed002-room"}, name)


def main(argv):
    if len(argv) == 3 and argv[1] == "check":
        return check(argv[2])
    phases = {"notify": notify, "functions": functions, "service": service, "room": room}
    if len(argv) != 3 or argv[1] not in phases:
        print(__doc__, file=sys.stderr)
        return 2
    log_requests()
    try:
        asyncio.run(phases[argv[1]](argv[2]))
    except rtg_gateway.GatewayError as err:
        print("gateway refused: %s" % err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
