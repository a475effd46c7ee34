"""Weights & Biases: one run per job, grouped by sweep, finished whatever happens.

The API key is wandb's business (WANDB_API_KEY or `wandb login`); we only look at whether
one exists to choose online or offline mode, and never copy it into configs or results.
"""

from __future__ import annotations

import html
import logging
import netrc
import os
import re
from pathlib import Path
from typing import Any

from compsafe.results.files import job_items
from compsafe.results.items import generated, item_lines

log = logging.getLogger(__name__)

SECRET_KEY = re.compile(r"(api[_-]?key|token|secret|password)", re.IGNORECASE)
GENERATION_COLUMNS = ["config", "prompt", "continuation", "score", "outcome", "group"]
# Document fields that are text or plumbing, not a group (the rest are shown as `group`);
# a task's own prompt field and recorded details are left out too.
NOT_GROUPS = frozenset({"prompt", "scorer", "text"})
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def scrub(value: Any) -> Any:
    """Drop any config entry whose key looks like a credential."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if not SECRET_KEY.search(str(k))}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def shown(text: Any, limit: int = 2000) -> str:
    """Model output or benchmark text made safe to show: HTML-escaped, control characters
    (terminal escapes) removed, cut to `limit` characters."""
    plain = CONTROL.sub("", str(text))
    return html.escape(plain[:limit] + ("..." if len(plain) > limit else ""))


def generations(folder: Path, record: dict[str, Any]) -> dict[str, list[list[Any]]]:
    """Per generation task (items whose outputs are scored texts), one row per continuation:
    config, prompt (the document field the task names as its prompt, e.g. the request before
    any template), continuation, score, the output's outcome label where the task gives one,
    and the document's other short fields as its group."""
    label = (record.get("compression") or {}).get("label") or "?"
    tables: dict[str, list[list[Any]]] = {}
    for key, bench in (record.get("benchmarks") or {}).items():
        prompt_field = bench.get("prompt_field") or "prompt"
        hidden = NOT_GROUPS | {prompt_field, *(bench.get("details") or {})}
        rows = []
        for item in item_lines(job_items(folder, key)):
            outputs = generated(item)
            if not outputs:
                break  # not a generation task
            doc = item.get("doc") or {}
            prompt = doc.get(prompt_field) or item.get("prompt") or ""
            group = ", ".join(f"{k}={v}" for k, v in doc.items() if k not in hidden and _short(v))
            rows += [
                [label, shown(prompt), shown(o["text"]), o.get("score"), o.get("outcome"), group]
                for o in outputs
            ]
        if rows:
            tables[key] = rows
    return tables


def _short(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and len(str(value)) <= 80


def has_api_key() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def resolve_mode(mode: str) -> str:
    """`auto`: WANDB_MODE if set, else online with a configured key, else offline."""
    if mode != "auto":
        return mode
    return os.environ.get("WANDB_MODE") or ("online" if has_api_key() else "offline")


class Tracker:
    """A W&B run for one job; every method is a no-op when logging is off."""

    def __init__(self, cfg, *, name: str, group: str | None, config: dict, folder: Path) -> None:
        self.cfg, self.name, self.group, self.config, self.folder = cfg, name, group, config, folder
        self.enabled = cfg.name != "none"
        self.run = None

    def start(self) -> None:
        if not self.enabled:
            return
        import wandb

        mode = resolve_mode(str(self.cfg.mode))
        # The run's own tags (an experiment's, e.g. "quickstart") and the logger's.
        tags = list(dict.fromkeys([*self.config.get("tags", []), *self.cfg.tags]))
        self.run = wandb.init(
            project=self.cfg.project,
            entity=self.cfg.entity,
            group=self.cfg.group or self.group,
            name=self.name,
            job_type=self.cfg.job_type,
            tags=tags or None,
            config=self.config,  # scrubbed by the job, like the results.json it matches
            dir=str(self.folder),
            mode=mode,
            reinit="finish_previous",
        )
        log.info("W&B run %s (%s) in %s", self.run.id, mode, self.folder / "wandb")

    def log_record(self, record: dict[str, Any]) -> None:
        """Metrics as summary and history, plus a table of them and the compression facts."""
        if self.run is None:
            return
        import wandb

        metrics = record["metrics"]
        compression = {
            f"compression/{k}": v
            for k, v in record["compression"].items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        timings = {f"timings/{k}": v for k, v in record["timings"].items()}
        self.run.log({**metrics, **compression, **timings})
        self.run.summary.update({**metrics, **compression, **timings, "status": record["status"]})
        table = wandb.Table(columns=["metric", "value"], data=[[k, v] for k, v in metrics.items()])
        self.run.log({"metrics_table": table})
        for task_key, rows in generations(self.folder, record).items():
            self.run.log(
                {f"generations/{task_key}": wandb.Table(columns=GENERATION_COLUMNS, data=rows)}
            )

    def finish(self, failed: bool) -> None:
        if self.run is None:
            return
        import wandb

        try:
            wandb.finish(exit_code=1 if failed else 0)
        finally:
            self.run = None
