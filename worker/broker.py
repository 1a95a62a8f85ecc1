"""Queue depths, for `newsworker status` and the metrics."""

from __future__ import annotations

from worker.celery_app import IO_QUEUE, NLP_QUEUE
from worker.settings import Settings


def queue_depths(settings: Settings) -> dict[str, int | None]:
    """Messages waiting per queue; None when the broker cannot be asked."""
    broker = settings.resolved_broker_url()
    try:
        if broker.startswith(("redis://", "rediss://")):
            import redis

            client = redis.Redis.from_url(broker, socket_timeout=3)
            return {q: int(client.llen(q)) for q in (IO_QUEUE, NLP_QUEUE)}
        folder = (settings.data_dir / "broker" / "queue").resolve()
        # The filesystem transport keeps one file per message, named after its queue.
        files = [p.name for p in folder.glob("*.msg")] if folder.is_dir() else []
        return {q: sum(1 for name in files if f"_{q}." in name or name.endswith(f".{q}.msg"))
                for q in (IO_QUEUE, NLP_QUEUE)}
    except Exception:  # noqa: BLE001 - status must print even when the broker is down
        return {IO_QUEUE: None, NLP_QUEUE: None}
