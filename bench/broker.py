"""The embedded broker under a backlog: kombu's filesystem channel against ours.

kombu's lists and sorts the whole folder for every message it takes; ours lists once
and takes messages from the listing. Measured on a private folder, no Celery, no server.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from kombu import Connection
from kombu.transport import filesystem, virtual

from worker.celery_app import FolderTransport


def _options(folder: Path) -> dict:
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    # control_folder too: kombu's default is ./control, inside whatever the cwd is.
    return {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"), "store_processed": False,
            "control_folder": str(folder / "control"), "polling_interval": 0.01}


def drain_ms_per_message(transport, backlog: int) -> float:
    """Queue `backlog` messages on `io` (and a few on `nlp`), then take every io one."""
    # A fresh broker state per folder: the transport classes cache exchange bindings.
    transport = type(transport.__name__, (transport,), {"global_state": virtual.BrokerState()})
    with tempfile.TemporaryDirectory(prefix="newsworker-broker-") as tmp:
        with Connection(transport=transport, transport_options=_options(Path(tmp))) as conn:
            io, nlp = conn.SimpleQueue("io"), conn.SimpleQueue("nlp")
            for i in range(backlog):
                io.put({"article_id": i})
            for i in range(20):
                nlp.put({"article_id": i})
            started = time.perf_counter()
            for _ in range(backlog):
                io.get(block=False).ack()
            elapsed = time.perf_counter() - started
            io.close()
            nlp.close()
    return 1000 * elapsed / backlog


def measure(backlogs: tuple[int, ...] = (100, 1000, 3000)) -> list[dict]:
    rows = []
    for backlog in backlogs:
        rows.append({"backlog": backlog,
                     "kombu_ms": drain_ms_per_message(filesystem.Transport, backlog),
                     "ours_ms": drain_ms_per_message(FolderTransport, backlog)})
    return rows


if __name__ == "__main__":
    for row in measure():
        print(row)
