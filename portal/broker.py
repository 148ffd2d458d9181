"""The Redis broker transport, with a guarded path for a broker that went away.

The cause of workers dying on a Redis restart (issue 21): when the broker connection
breaks, Celery's consumer first `collect()`s the connection — which detaches its
transport (kombu sets the transport's client to None) — and then closes it. Closing the
default channel makes kombu's Redis QoS restore the messages this worker holds
unacknowledged (`task_acks_late`) back to their queue, which needs a Redis client, which
it builds from the detached transport: `AttributeError: 'NoneType' object has no
attribute 'hostname'` in `_connparams`, not a connection error, so it escapes as
"Unrecoverable error" and the worker exits. Idle workers hold nothing unacknowledged and
never take that path. The acknowledgement of a task that finishes after the reconnect
goes through the same detached channel and fails the same way.

Here, a channel whose transport is detached skips the restore and drops such
acknowledgements, with a warning. Nothing is lost by it: messages left unacknowledged stay
in Redis's unacked set and come back after the visibility timeout, and the portal's own
recovery does not wait for that — runs have leases and a resume job, token upkeep has
its sweeps, webhook deliveries their dispatcher; every task is safe to run twice.
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis
from kombu.transport import sqlalchemy as sqla
from sqlalchemy import event as sqla_event

logger = logging.getLogger(__name__)


class QoS(redis.QoS):
    def _detached(self) -> bool:
        transport = getattr(self.channel, "connection", None)
        return transport is None or getattr(transport, "client", None) is None

    def restore_unacked(self, client: Any = None) -> Any:
        if client is None and self._detached():
            logger.warning(
                "broker connection lost: %d unacknowledged message(s) stay in Redis until "
                "their visibility timeout (the portal recovers its own work sooner)",
                len(self._delivered),
            )
            self._delivered.clear()
            return []
        return super().restore_unacked(client)

    def ack(self, delivery_tag: Any) -> None:
        if self._detached():
            logger.warning("acknowledgement on a lost broker connection dropped")
            redis.virtual.QoS.ack(self, delivery_tag)  # forget it here, touch no Redis
            return
        super().ack(delivery_tag)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if self._detached():
            logger.warning("rejection on a lost broker connection dropped")
            redis.virtual.QoS.ack(self, delivery_tag)
            return
        super().reject(delivery_tag, requeue=requeue)


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel


# --- The embedded broker (make run) ---------------------------------------------------------
#
# Issue 24: the filesystem transport's writer creates a message file before it locks and
# writes it, so a busy reader can read it empty and the worker dies of a JSONDecodeError.
# kombu's SQLAlchemy transport on a SQLite file of its own takes each message in a
# BEGIN IMMEDIATE transaction: no torn reads, one reader per message across processes.
# Chosen by the soak test (tests/operations/test_embedded_broker.py, bench.broker_soak).
# A message a killed worker had taken is not handed out again (the transport has no
# visibility timeout); the portal's recovery jobs hand the work out again (runs queued
# too long, deliveries due), as they do for Redis.


class EmbeddedChannel(sqla.Channel):
    def _engine_from_config(self) -> Any:
        options = dict(self.connection.client.transport_options)
        for name in ("polling_interval", "busy_timeout"):
            options.pop(name, None)
        engine = sqla.create_engine(
            self.connection.client.hostname,
            connect_args={
                "timeout": self.connection.client.transport_options.get("busy_timeout", 30)
            },
        )

        @sqla_event.listens_for(engine, "connect")
        def _wal(dbapi_connection: Any, record: Any) -> None:
            # Readers and the writer do not block each other; commits stay durable.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine


class EmbeddedTransport(sqla.Transport):
    Channel = EmbeddedChannel
