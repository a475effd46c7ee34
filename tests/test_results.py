"""The results contract: atomic writes, and a failure never replaces a completed result."""

from __future__ import annotations

import json
import os

import pytest

from compsafe.results import (
    COMPLETED,
    FAILED,
    FAILED_FILE,
    RESULTS_FILE,
    atomic_write_json,
    new_record,
    read_results,
    write_results,
)
from conftest import RESULTS_CONTRACT


def test_new_record_has_every_contract_key():
    assert RESULTS_CONTRACT <= set(new_record({"a": 1}))


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    atomic_write_json(tmp_path / RESULTS_FILE, {"status": COMPLETED})
    assert os.listdir(tmp_path) == [RESULTS_FILE]
    assert read_results(tmp_path) == {"status": COMPLETED}


def test_interrupted_write_keeps_the_previous_file(tmp_path, monkeypatch):
    atomic_write_json(tmp_path / RESULTS_FILE, {"status": COMPLETED, "n": 1})

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(json, "dump", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_json(tmp_path / RESULTS_FILE, {"status": COMPLETED, "n": 2})
    assert read_results(tmp_path) == {"status": COMPLETED, "n": 1}
    assert os.listdir(tmp_path) == [RESULTS_FILE]


def test_failure_never_overwrites_a_completed_result(tmp_path):
    write_results(tmp_path, {"status": COMPLETED, "metrics": {"x/y": 1.0}})
    path = write_results(tmp_path, {"status": FAILED, "error": "boom"})
    assert path.name == FAILED_FILE
    assert read_results(tmp_path)["status"] == COMPLETED
    assert json.loads((tmp_path / FAILED_FILE).read_text())["error"] == "boom"


def test_failure_without_earlier_result_is_the_result(tmp_path):
    write_results(tmp_path, {"status": FAILED, "error": "boom"})
    assert read_results(tmp_path)["status"] == FAILED


def test_unreadable_results_read_as_none(tmp_path):
    (tmp_path / RESULTS_FILE).write_text("{not json")
    assert read_results(tmp_path) is None
