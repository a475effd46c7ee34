"""Our lm-eval task folder: `lm_eval --include_path <this folder> --tasks compsafe_...`.

Each benchmark is a YAML here plus, when it needs one, a module with its data loader, options
dataclass and metrics. A module declares `TASK` + `OPTIONS`, or `TASKS = {name: options}`;
`TASK_OPTIONS` maps every task name to its options dataclass.
"""

from compsafe.registry import Registry, import_submodules

TASK_OPTIONS: Registry[type] = Registry("task", "benchmark task")

for _module in import_submodules(__name__, __path__):
    if hasattr(_module, "TASK") and hasattr(_module, "OPTIONS"):
        TASK_OPTIONS.add(_module.TASK, _module.OPTIONS)
    for _name, _options in getattr(_module, "TASKS", {}).items():
        TASK_OPTIONS.add(_name, _options)
