"""How one setting is declared and read: :class:`Field` (default, description, limits,
environment variables), the converters from a variable's text to the annotated type, and
:class:`Secret`, which keeps the API key out of reprs, logs and cache keys."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


class Secret:
    """A string that stays out of repr, str, logs and cache keys; ``get_secret_value()``
    hands it to the one call that sends it."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value


# ------------------------------------------------------------------ converters and checks
# A converter turns a variable's text (or a Python value passed to load_settings) into
# the annotated type; a check normalises a converted value. Both raise ValueError with
# the problem, which the error message puts after the variable's name.


def _whole_number(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value))
    except ValueError:
        raise ValueError(f"must be a whole number, not {value!r}") from None


def _number(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not {value!r}")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"must be a number, not {value!r}") from None


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"must be on or off (1/0, true/false, yes/no), not {value!r}")


def _secret(value: object) -> Secret:
    return value if isinstance(value, Secret) else Secret(str(value))


def _prices(value: object) -> dict[str, tuple[float, float]]:
    """JSON text (from the environment) or a dict: model prefix -> (prompt, completion)."""
    shape = 'must be JSON like {"gpt-4o-mini": [0.15, 0.6]} (USD per 1M prompt, completion)'
    if isinstance(value, str):
        import json  # only when the variable is set

        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(shape) from None
    if not isinstance(value, dict):
        raise ValueError(shape)
    prices = {}
    for model, pair in value.items():
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError(shape)
        prices[str(model)] = (_number(pair[0]), _number(pair[1]))
    return prices


# The converter for each annotation used below (" | None" only allows the None default).
_CONVERTERS: dict[str, Callable[[object], Any]] = {
    "Path": Path,
    "str": str,
    "int": _whole_number,
    "float": _number,
    "bool": _flag,
    "Secret": _secret,
    "dict[str, tuple[float, float]]": _prices,
}


class Field:
    """Declares one setting in the body of :class:`Settings`: its default, its
    description, its limits (``ge`` >=, ``gt`` >, ``le`` <=), an optional ``check`` run
    on the converted value, the environment variables it is read from, and how the README
    shows its default when the value itself says little (``shown``)."""

    def __init__(
        self,
        default: Any,
        description: str,
        *,
        ge: float | None = None,
        gt: float | None = None,
        le: float | None = None,
        check: Callable[[Any], Any] | None = None,
        env: tuple[str, ...] = (),
        shown: str | None = None,
    ) -> None:
        self.default, self.description = default, description
        self.ge, self.gt, self.le, self.check, self.env = ge, gt, le, check, env
        self.shown = shown

    def shown_default(self) -> str:
        """The default as the README's settings table shows it."""
        if self.shown is not None:
            return self.shown
        if self.default is None:
            return "unset"
        return f"`{self.default}`"

    def __set_name__(self, owner: type, name: str) -> None:
        # Called when the Settings class is created: the field learns its name and type.
        self.env = self.env or (f"PRIVACY_QA_{name.upper()}",)
        self.convert = _CONVERTERS[owner.__annotations__[name].removesuffix(" | None")]

    def value(self, raw: object) -> Any:
        """``raw`` converted and checked; the default when it is None or blank."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            # The default, copied so no two Settings share a mutable value.
            return dict(self.default) if isinstance(self.default, dict) else self.default
        value = self.convert(raw)
        if self.check is not None:
            value = self.check(value)
        if self.ge is not None and value < self.ge:
            raise ValueError(f"must be at least {self.ge}, not {value}")
        if self.gt is not None and value <= self.gt:
            raise ValueError(f"must be more than {self.gt}, not {value}")
        if self.le is not None and value > self.le:
            raise ValueError(f"must be at most {self.le}, not {value}")
        return value
