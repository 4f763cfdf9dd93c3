"""The embedded broker writes a message whole before a worker can see it (a worker that
read a half-written message died on the JSON error)."""

from __future__ import annotations

import os
from pathlib import Path

from kombu import Connection

from procurement import broker


def channel_in(folder):
    connection = Connection(
        transport=broker.Transport,
        transport_options={"data_folder_in": str(folder), "data_folder_out": str(folder)},
    )
    return connection, connection.default_channel


def test_a_message_appears_under_its_queue_name_only_once_written(tmp_path, monkeypatch):
    connection, channel = channel_in(tmp_path)
    seen = []
    real_replace = os.replace

    def replace(source, target):
        seen.append((sorted(os.listdir(tmp_path)), Path(source).read_bytes()))
        real_replace(source, target)

    monkeypatch.setattr(broker.os, "replace", replace)
    channel._put("celery", {"body": "x" * 100_000})
    [(names, written)] = seen
    assert len(names) == 1 and names[0].startswith(".") and names[0].endswith(".msg.tmp")
    assert written.endswith(b'"}')  # complete before it is renamed into the queue
    assert channel._get("celery") == {"body": "x" * 100_000}
    assert os.listdir(tmp_path) == []
    connection.release()


def test_the_embedded_brokers_url_uses_it_and_a_redis_url_does_not():
    from procurement.celery import app

    with app.connection_for_write("filesystem://") as connection:
        assert isinstance(connection.transport, broker.Transport)
    with app.connection_for_write("redis://127.0.0.1:1/0") as connection:
        assert not isinstance(connection.transport, broker.Transport)
