"""Read back an offline W&B run file (`run-<id>.wandb`) to check what a job logged.

wandb 0.31 writes its records in LevelDB's log format (32 KiB blocks, 7-byte record headers:
crc32c, little-endian length, type) after a 7-byte file header; each record is a protobuf
`wandb_internal_pb2.Record`. The Python datastore reader that used to do this was removed.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

BLOCK = 32768
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path):
    from wandb.proto.wandb_internal_pb2 import Record

    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", "not a W&B run file"
    pos, pending = HEADER, b""
    while pos + HEADER <= len(data):
        if BLOCK - pos % BLOCK < HEADER:  # block trailer: skip to the next block
            pos += BLOCK - pos % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        if kind == 0 or pos + HEADER + length > len(data):
            return  # the writer has not finished this record (or the file's unwritten tail)
        payload = data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind in (FIRST, MIDDLE):
            pending += payload
            continue
        if kind == LAST:
            payload, pending = pending + payload, b""
        if kind in (FULL, LAST) and payload:
            record = Record()
            record.ParseFromString(payload)
            yield record


def finished(path: Path, timeout: float = 60.0) -> None:
    """Wait until the run file holds its exit record: wandb's writer process may still be
    flushing the file when `wandb.finish()` has returned (seen on a loaded machine)."""
    import time

    from google.protobuf.message import DecodeError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if any(r.WhichOneof("record_type") == "exit" for r in records(path)):
                return
        except DecodeError:  # a record caught half-written (seen in CI): read again shortly
            pass
        time.sleep(0.5)


def logged_values(path: Path) -> dict:
    """{'summary': {...}, 'history': {...}, 'config': {...}, 'tags': [...]}, last values logged
    (once the run file is complete)."""
    finished(Path(path))
    out: dict = {"summary": {}, "history": {}, "config": {}, "tags": []}
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "summary":
            for item in record.summary.update:
                out["summary"][item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
        elif kind == "history":
            for item in record.history.item:
                out["history"][item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
        elif kind in ("config", "run"):
            if kind == "run":
                out["tags"] = list(record.run.tags)
            updates = record.config.update if kind == "config" else record.run.config.update
            for item in updates:
                out["config"][item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    return out
