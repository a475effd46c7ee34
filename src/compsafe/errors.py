"""The one error type users see for bad input: a single line naming the key and what is valid."""

import sys
from typing import NoReturn


class ConfigError(ValueError):
    """Bad input, found before any heavy work starts."""

    def __init__(self, key: str, value: object, expected: str, *, show_value: bool = True) -> None:
        self.key, self.value, self.expected, self.show_value = key, value, expected, show_value
        super().__init__(f"{key}={value!s}: {expected}" if show_value else f"{key}: {expected}")

    def __reduce__(self):
        """Picklable: a job on SLURM or submitit_local sends its exception back to the sweep."""
        return (_config_error, (self.key, self.value, self.expected, self.show_value))


def _config_error(key: str, value: object, expected: str, show_value: bool) -> ConfigError:
    return ConfigError(key, value, expected, show_value=show_value)


def choices(options) -> str:
    """'valid choices: a, b, c' for error messages."""
    return "valid choices: " + ", ".join(sorted(str(o) for o in options))


def exit_with(err: ConfigError) -> NoReturn:
    """Bad input: one line on stderr and exit status 2, never a traceback."""
    print(f"compsafe: error: {err}", file=sys.stderr)
    sys.exit(2)
