"""Compressed checkpoints, saved once and reused by any later job with the same key.

An entry lives in `<cache_dir>/compressed/<model>/<config>-<key>/`: a compressed-tensors /
safetensors checkpoint (llm-compressor's `save_pretrained(save_compressed=True)`, loadable by
transformers and vLLM) with `recipe.yaml` when llm-compressor ran, the tokenizer, and
`compsafe-cache.json` (what the key was made of, the files and their sizes, what the job
measured). The key hashes everything that determines the weights: the dense model's identity,
the compression spec, the calibration config, the device type, library versions and a digest of
compsafe's own code that makes the weights (`code_digest`).

Entries are written to a temporary folder and renamed into place; one that is incomplete
(no marker, a file missing or of the wrong size) or fails verification is deleted and rebuilt.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

from compsafe.compression.base import CompressionSpec
from compsafe.results.environment import package_versions

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "compsafe-cache.json"
MARKER = ".complete"
KEY_PACKAGES = ("compsafe", "torch", "transformers", "llmcompressor", "compressed-tensors")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


def weights_identity(loaded_path: str, source: str, revision: str | None) -> dict[str, Any]:
    """What pins the dense weights: file names, sizes and times of a folder, or a hub commit."""
    if source == "hub":
        from transformers import AutoConfig

        commit = getattr(
            AutoConfig.from_pretrained(loaded_path, revision=revision), "_commit_hash", None
        )
        return {"hub": loaded_path, "commit": commit or revision}
    folder = Path(loaded_path)
    files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else [folder]
    return {
        "files": {
            p.name: [p.stat().st_size, p.stat().st_mtime_ns]
            for p in files
            if p.suffix in (".safetensors", ".bin", ".gguf", ".json", ".pt")
        }
    }


# The packages whose code decides the weights: loading (and dequantizing) the dense model, the
# calibration text, the compression itself. Their source is part of the key, so a fix there (a
# new tie rule for masks) never serves weights made by the old code.
CODE_PACKAGES = ("compression", "models", "data")


@functools.cache
def code_digest() -> str:
    """sha256 of the source of CODE_PACKAGES (compsafe's version does not change with them)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for package in CODE_PACKAGES:
        for path in sorted((root / package).glob("*.py")):
            digest.update(f"{package}/{path.name}".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_key(identity: dict, spec: CompressionSpec, calibration: dict | None, device: str):
    """(hex digest, the material it hashes)."""
    material = {
        "format": FORMAT,
        "code": code_digest(),
        "model": identity,
        "compression": dataclasses.asdict(spec),
        "calibration": calibration,
        "device": device.split(":")[0],
        "versions": {k: v for k, v in package_versions().items() if k in KEY_PACKAGES},
    }
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16], material


def entry_dir(cache_dir: str | Path, model_name: str, spec: CompressionSpec, digest: str) -> Path:
    return Path(cache_dir) / "compressed" / slug(model_name) / f"{slug(spec.label)}-{digest}"


def read_manifest(entry: Path) -> dict[str, Any] | None:
    """The manifest of a complete, intact entry, else None."""
    if not (entry / MARKER).is_file():
        return None
    try:
        manifest = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    for name, size in manifest.get("files", {}).items():
        file = entry / name
        if not file.is_file() or file.stat().st_size != size:
            log.warning("Cache entry %s is damaged (%s); rebuilding it", entry, name)
            return None
    return manifest


def discard(entry: Path) -> None:
    shutil.rmtree(entry, ignore_errors=True)


def save(model, tokenizer, entry: Path, material: dict, record: dict) -> None:
    """Write the checkpoint to a temporary folder, then rename it into place."""
    from llmcompressor.transformers.compression.compressed_tensors_utils import (
        modify_save_pretrained,
    )

    tmp = entry.with_name(f"{entry.name}.tmp-{os.getpid()}")
    discard(tmp)
    modify_save_pretrained(model)  # adds compressed-tensors saving to models we pruned ourselves
    model.save_pretrained(tmp, save_compressed=True)
    tokenizer.save_pretrained(tmp)
    files = {p.name: p.stat().st_size for p in tmp.iterdir() if p.is_file()}
    manifest = {"key": material, "files": files, "record": record}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    (tmp / MARKER).write_text("ok\n")
    discard(entry)  # an incomplete earlier attempt
    try:
        os.replace(tmp, entry)
    except OSError:  # another job finished the same entry first
        discard(tmp)
    log.info("Saved the compressed model to %s", entry)


def load(entry: Path, device: str, dtype: str):
    """(model, tokenizer) from an entry; quantized layers come back dequantized on the grid."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils.quantization_config import CompressedTensorsConfig

    config = json.loads((entry / "config.json").read_text(encoding="utf-8"))
    kwargs: dict[str, Any] = {}
    if "quantization_config" in config:
        kwargs["quantization_config"] = CompressedTensorsConfig(run_compressed=False)
    model = AutoModelForCausalLM.from_pretrained(
        entry,
        dtype=dtype if dtype == "auto" else getattr(torch, dtype),
        device_map=device if device != "cpu" else None,
        **kwargs,
    )
    return model.eval(), AutoTokenizer.from_pretrained(entry)
