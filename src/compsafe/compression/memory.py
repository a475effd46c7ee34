"""Peak memory of a step: the CUDA allocator's peak on GPU, sampled resident memory on CPU."""

from __future__ import annotations

import threading

MB = 1024 * 1024


class PeakMemory:
    """`with PeakMemory() as peak: ...`, then `peak.result()` in MB."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self.interval = interval
        self._process = psutil.Process()
        self._peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._peak_rss = max(self._peak_rss, self._process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        import torch

        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._peak_rss = max(self._peak_rss, self._process.memory_info().rss)

    def result(self) -> dict[str, float]:
        import torch

        out = {"peak_rss_mb": round(self._peak_rss / MB, 1)}
        if torch.cuda.is_available():
            out["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated() / MB, 1)
        return out
