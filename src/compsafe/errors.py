"""The one error type users see for bad input: a single line naming the key and what is valid."""


class ConfigError(ValueError):
    """Bad input, found before any heavy work starts."""

    def __init__(self, key: str, value: object, expected: str, *, show_value: bool = True) -> None:
        self.key, self.value, self.expected = key, value, expected
        super().__init__(f"{key}={value!s}: {expected}" if show_value else f"{key}: {expected}")


def choices(options) -> str:
    """'valid choices: a, b, c' for error messages."""
    return "valid choices: " + ", ".join(sorted(str(o) for o in options))
