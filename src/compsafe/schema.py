"""Typed schemas for compsafe's own config nodes.

Registered in Hydra's ConfigStore and used as the base of `conf/config.yaml`, so a typo
(`compression.sparsty=0.5`) or a wrong type fails when Hydra composes the config, before
any model is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import II, MISSING


@dataclass
class PathsConfig:
    """Every folder the pipeline reads or writes, in one place."""

    root_dir: str = MISSING
    output_dir: str = MISSING
    cache_dir: str = MISSING
    sweep_dir: str = MISSING


@dataclass
class ModelConfig:
    """A causal LM: a hub id, a local folder, or `pkg:<distribution>/<file.gguf>`."""

    path: str = MISSING
    name: str | None = None  # label in results; derived from `path` when null
    gguf_file: str | None = None  # a GGUF file inside a hub repo or local folder
    revision: str | None = None
    dtype: str = "auto"  # auto | float32 | bfloat16 | float16
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    trust_remote_code: bool = False
    max_length: int | None = None  # context used by lm-eval; null = the model's own
    # Largest quantization group size that divides every targeted layer's input size;
    # `compression.group_size` defaults to it (Llama: 128; SmolLM2-135M, hidden 576: 64).
    quant_group_size: int = 128


@dataclass
class CompressionConfig:
    """One compression method and its arguments (see `compsafe.compression`)."""

    method: str = MISSING
    sparsity: float = 0.0
    pattern: str = "unstructured"  # unstructured | N:M (e.g. 2:4, 4:8)
    targets: list[str] = field(default_factory=lambda: ["Linear"])
    ignore: list[str] = field(default_factory=lambda: ["re:.*lm_head"])
    # Extra keyword arguments for the method (an llm-compressor modifier validates its own).
    args: dict[str, Any] = field(default_factory=dict)
    # Quantization: the method itself (compression=gptq) or a second stage after pruning
    # (compression=wanda compression.quantize=gptq), which keeps the pruning mask.
    quantize: str | None = None  # rtn | gptq | awq | int8 | fp8 | w8a8 | nvfp4 | ... (formats)
    bits: int = 4
    group_size: int | None = II("model.quant_group_size")  # null = one scale per output channel
    symmetric: bool = True
    # KV-cache quantization with any method: fp8 (E4M3 keys and values, calibrated per-layer
    # scales, quantized in the attention forward as vLLM's kv_cache_dtype=fp8 stores them)
    kv_cache: str | None = None
    cache: bool = True  # reuse a compressed checkpoint saved by an earlier job with the same key


@dataclass
class CalibrationConfig:
    """Text the calibrated methods (Wanda, SparseGPT, GBLM, GPTQ, AWQ) see: `seq_len` windows."""

    name: str = MISSING
    source: str = MISSING  # packaged | hub | file
    path: str = MISSING  # packaged corpus name, hub dataset id, or a local file
    subset: str | None = None  # hub config name, or the packaged corpus' parts
    data_files: str | None = None  # hub: one file of a large dataset (C4 shard)
    split: str = "train"
    text_field: str = "text"
    num_samples: int = 128
    seq_len: int = 2048
    seed: int = 0


@dataclass
class TaskConfig:
    """One lm-eval task; `options` go to our own tasks' data loaders (their OPTIONS dataclasses)."""

    task: str = MISSING
    label: str | None = None  # what the data is, for tables (e.g. "not WikiText-2")
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class BenchmarkConfig:
    """A set of lm-eval tasks run in one `simple_evaluate` call."""

    name: str = MISSING
    tasks: dict[str, TaskConfig] = field(default_factory=dict)
    # Built-in lm-eval tasks by name (`benchmark.lm_eval_tasks=[arc_easy,mmlu]`), keyed by name.
    lm_eval_tasks: list[str] = field(default_factory=list)
    batch_size: int = 16  # log-likelihood requests
    generation_batch_size: int = 32
    limit: int | None = None  # lm-eval's first-N limit, for smoke tests only
    # The one model that judges every config's continuations (continuation_perplexity):
    # "dense" (the job's own uncompressed model), a local path, `pkg:...` or a hub id;
    # null: only the evaluated model's own judgement (continuation_perplexity_self)
    reference_model: str | None = "dense"


@dataclass
class LoggerConfig:
    """Weights & Biases settings; `name: none` switches tracking off."""

    name: str = MISSING
    project: str = "compsafe"
    entity: str | None = None
    mode: str = "auto"  # auto (online when a key is configured, else offline) | online | offline
    group: str | None = None  # null = the sweep folder's name
    tags: list[str] = field(default_factory=list)
    job_type: str = "compress-evaluate"


@dataclass
class Config:
    paths: PathsConfig = field(default_factory=PathsConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    compression: CompressionConfig = field(default_factory=CompressionConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    benchmark: BenchmarkConfig = field(default_factory=BenchmarkConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    seed: int = 0
    tags: list[str] = field(default_factory=list)


def register_configs() -> None:
    """Make the schema available to `defaults: [compsafe_schema, ...]` in conf/config.yaml."""
    ConfigStore.instance().store(name="compsafe_schema", node=Config)
