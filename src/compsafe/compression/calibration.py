"""The calibration set: `num_samples` windows of `seq_len` tokens, the same for the same seed."""

from __future__ import annotations

import logging
import random

from compsafe.data.texts import check_source, load_texts
from compsafe.errors import ConfigError

log = logging.getLogger(__name__)


def check_calibration_config(cfg) -> None:
    check_source(str(cfg.source), cfg.path, "calibration")
    for key in ("num_samples", "seq_len"):
        if int(cfg[key]) <= 0:
            raise ConfigError(f"calibration.{key}", cfg[key], "must be a positive integer")


def build_calibration(cfg, tokenizer):
    """Shuffle the corpus' documents with the seed, tokenize them in that order, cut windows."""
    from datasets import Dataset

    texts = load_texts(
        str(cfg.source),
        str(cfg.path),
        subset=cfg.subset,
        split=cfg.split,
        text_field=cfg.text_field,
        data_files=cfg.data_files,
        key="calibration",
    )
    order = list(range(len(texts)))
    random.Random(int(cfg.seed)).shuffle(order)
    needed = int(cfg.num_samples) * int(cfg.seq_len)
    ids: list[int] = []
    for index in order:
        ids += tokenizer(texts[index] + "\n\n", add_special_tokens=False)["input_ids"]
        if len(ids) >= needed:
            break
    if len(ids) < needed:
        raise ConfigError(
            "calibration.num_samples",
            cfg.num_samples,
            f"{cfg.name} has {len(ids)} tokens, fewer than num_samples x seq_len = {needed}",
        )
    length = int(cfg.seq_len)
    windows = [ids[k * length : (k + 1) * length] for k in range(int(cfg.num_samples))]
    log.info("Calibration: %d x %d tokens from %s", len(windows), length, cfg.name)
    return Dataset.from_dict(
        {"input_ids": windows, "attention_mask": [[1] * length] * len(windows)}
    )
