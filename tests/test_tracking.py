"""W&B helpers: credentials never logged, mode chosen from what is configured."""

from __future__ import annotations

from compsafe.tracking import resolve_mode, scrub


def test_scrub_drops_credentials_at_any_depth():
    config = {
        "logger": {"api_key": "x", "project": "p"},
        "hf_token": "t",
        "list": [{"secret": 1, "ok": 2}],
        "model": {"path": "m"},
    }
    assert scrub(config) == {
        "logger": {"project": "p"},
        "list": [{"ok": 2}],
        "model": {"path": "m"},
    }


def test_auto_mode_is_offline_without_a_key(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_mode("auto") == "offline"
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    assert resolve_mode("auto") == "online"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert resolve_mode("auto") == "disabled"
    assert resolve_mode("offline") == "offline"
