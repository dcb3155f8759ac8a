"""Reads W&B's offline run file back, record by record, for the tests that check what reached the user's run
with the real client in offline mode (test_wandb_forward.py, test_wandb_integrations.py)."""

import glob
import json
import os
import struct
import time

import pytest

wandb = pytest.importorskip("wandb")
from wandb.proto import wandb_internal_pb2  # noqa: E402


def run_records(run) -> list:
    """Every protobuf `Record` of an offline run's file, once the run is finished. The file is a LevelDB-style
    log (as W&B's datastore writes it): a 7-byte header, then 32 KiB blocks of records, each a 7-byte header
    (crc32, length, kind: 1 full, 2 first, 3 middle, 4 last) and a piece of one protobuf `Record`."""
    [path] = glob.glob(os.path.join(os.path.dirname(run.dir), "*.wandb"))
    for _ in range(300):  # the W&B service may still be writing when finish() returns
        with open(path, "rb") as file:
            records, done = read_records(file.read())
        if done:
            return records
        time.sleep(0.05)
    raise AssertionError(f"{path} has no exit record")


def read_records(data: bytes) -> tuple[list, bool]:
    """The records of a run file's bytes, and whether they reach its exit record."""
    assert data[:4] == b":W&B"
    done = False
    pos, piece, records = 7, b"", []
    while pos + 7 <= len(data):
        left = 32768 - pos % 32768
        if left < 7:
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if length == 0 and kind == 0:  # block padding
            pos += left
            continue
        piece += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(piece)
            piece = b""
            records.append(record)
            done = done or record.WhichOneof("record_type") == "exit"
    return records, done


def of_type(records: list, kind: str) -> list:
    """The payloads of the records of one type: "history", "files", "alert", "summary", …"""
    return [getattr(record, kind) for record in records if record.WhichOneof("record_type") == kind]


def items(payload) -> dict:
    """A history or summary record's items, values decoded from JSON."""
    listed = payload.item if isinstance(payload, wandb_internal_pb2.HistoryRecord) else payload.update
    return {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in listed}


def history_rows(run) -> list[dict]:
    """The history rows of an offline run file, values decoded from JSON."""
    return [items(history) for history in of_type(run_records(run), "history")]


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """W&B offline, writing under tmp_path; a run the test left open is finished."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    yield tmp_path
    if wandb.run is not None:
        wandb.run.finish()
