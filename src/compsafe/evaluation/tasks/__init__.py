"""Our lm-eval task folder: `lm_eval --include_path <this folder> --tasks compsafe_...`.

Each benchmark is a YAML here plus, when it needs one, a module with its data loader, options
dataclass and metrics. A module declares `TASK` + `OPTIONS`, or `TASKS = {name: options}`;
`TASK_OPTIONS` maps every task name to its options dataclass.
"""

import importlib
import pkgutil

TASK_OPTIONS: dict[str, type] = {}

for _module in pkgutil.iter_modules(__path__):
    _mod = importlib.import_module(f"{__name__}.{_module.name}")
    if hasattr(_mod, "TASK") and hasattr(_mod, "OPTIONS"):
        TASK_OPTIONS[_mod.TASK] = _mod.OPTIONS
    TASK_OPTIONS.update(getattr(_mod, "TASKS", {}))
