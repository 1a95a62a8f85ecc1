"""The embedded broker's folder channel: whole messages only, and a bad file skipped."""

from __future__ import annotations

import os
from pathlib import Path

from kombu import Connection
from kombu.transport import virtual

from worker.celery_app import FolderTransport


def connect(folder: Path) -> Connection:
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    # A fresh broker state per folder: the transport class caches exchange bindings.
    transport = type("Transport", (FolderTransport,), {"global_state": virtual.BrokerState()})
    return Connection(transport=transport, transport_options={
        "data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"), "store_processed": False,
        "control_folder": str(folder / "control"), "polling_interval": 0})


def test_a_message_appears_in_the_queue_whole(tmp_path):
    with connect(tmp_path) as conn:
        queue = conn.SimpleQueue("io")
        queue.put({"article_id": 7, "title": "Dépêche"})
        names = os.listdir(tmp_path / "queue")
        message = queue.get(timeout=1)
        assert message.payload == {"article_id": 7, "title": "Dépêche"}
        message.ack()
    # Written under a temporary name and renamed: nothing else was ever in the folder.
    assert len(names) == 1 and names[0].endswith(".io.msg")
    assert os.listdir(tmp_path / "queue") == [] and os.listdir(tmp_path / "processed") == []


def test_a_file_that_is_not_a_message_is_set_aside_and_the_queue_goes_on(tmp_path):
    with connect(tmp_path) as conn:
        queue = conn.SimpleQueue("io")
        # An empty message file, as kombu's own writer leaves one between its open and
        # its write, named to come first.
        (tmp_path / "queue" / "0_empty.io.msg").write_bytes(b"")
        queue.put({"article_id": 8})
        message = queue.get(timeout=1)
        assert message.payload == {"article_id": 8}
        message.ack()
    assert os.listdir(tmp_path / "processed") == ["0_empty.io.msg.bad"]
