"""Typed getters over one TOML table of the configuration; each error names the file, the key and the expectation."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .desk.durations import Duration, parse_duration
from .sizes import EXPECTED as SIZE_EXPECTED
from .sizes import parse_size

T = TypeVar("T")
ADDRESS = r"[^@\s]+@[^@\s]+"
DURATION_EXPECTED = 'a duration such as "30m", "4h", "2d" or "1d4h"'


class ConfigError(Exception):
    """A configuration mistake a person can fix; str() says where and what is expected."""


@dataclass
class Reader:
    """The file being read: where errors point, whether secrets are read, the warnings gathered on the way, and
    the desk's own addresses (every [[queues]] address), which no notification may go to."""

    path: Path
    secrets: bool = True
    warnings: list[str] = field(default_factory=list)
    own_addresses: frozenset[str] = frozenset()

    def error(self, key: str, expectation: str, got: object = None) -> ConfigError:
        section, _, name = key.rpartition(".")
        where = f"[{section}] {name}" if section else f"[{name}]"
        suffix = "" if got is None else f", got {got!r}"
        return ConfigError(f"{self.path}: {where}: {expectation}{suffix}")

    def resolve(self, value: str) -> Path:
        """Relative paths are relative to the configuration file, so the daemon's working folder doesn't matter."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.path.parent / path).resolve()

    def table(self, data: dict[str, Any], name: str, required: bool = True) -> Table:
        if name not in data and not required:
            return Table(self, name, {})
        if name not in data:
            raise self.error(name, "missing table")
        return Table(self, name, data[name])


class Table:
    """One TOML table being read: every getter names file and key in its error, unknown keys are refused."""

    def __init__(self, reader: Reader, name: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise reader.error(name, "expected a table", data)
        self.reader, self.name, self.data = reader, name, data
        self.seen: set[str] = set()

    def error(self, key: str, expectation: str, got: object = None) -> ConfigError:
        """An error about `key` of this table; `key` may go deeper ("hours.mon[0]") and is shown as given."""
        suffix = "" if got is None else f", got {got!r}"
        return ConfigError(f"{self.reader.path}: [{self.name}] {key}: {expectation}{suffix}")

    def invalid(self, error: ValueError) -> ConfigError:
        """A value parser's ValueError whose message starts with the key inside this table: "hours.mon[0]: …"."""
        key, _, expectation = str(error).partition(": ")
        return self.error(key, expectation)

    def _get(self, key: str, kind: type[T], default: T | None, expected: str) -> T:
        self.seen.add(key)
        if key not in self.data:
            if default is None:
                raise self.error(key, f"missing; expected {expected}{self._typo_of(key)}")
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
            raise self.error(key, f"expected {expected}", value)
        return value

    def _typo_of(self, key: str) -> str:
        """ (is "hots" a typo?) when an unknown key here looks like the missing one."""
        close = _closest(key, [k for k in self.data if k not in self.seen])
        return f' (is "{close}" a typo?)' if close else ""

    def text(self, key: str, default: str | None = None, pattern: str | None = None, expected: str = "") -> str:
        """A string; "" is allowed only where the default is "" (an optional key left empty), and skips `pattern`."""
        value = self._get(key, str, default, expected or "a string").strip()
        if not value and default is None:
            raise self.error(key, f"expected {expected or 'a non-empty string'}", value)
        if pattern and (value or default) and not re.fullmatch(pattern, value):
            raise self.error(key, f"expected {expected}", value)
        return value

    def optional_text(self, key: str, pattern: str | None = None, expected: str = "") -> str | None:
        return self.text(key, "", pattern, expected) or None

    def text_list(self, key: str, pattern: str, expected: str, example: str) -> tuple[str, ...]:
        """A list of strings, each matching `pattern` and given once; lower-cased, as every list of this file holds
        names compared case-insensitively (addresses, authserv-ids). Default: empty."""
        found: list[str] = []
        for index, value in enumerate(self._get(key, list, [], f"a list such as {example}")):
            name = value.strip().lower() if isinstance(value, str) else ""
            if not re.fullmatch(pattern, name):
                raise self.error(f"{key}[{index}]", f"expected {expected}", value)
            if name in found:
                raise self.error(f"{key}[{index}]", "expected each value once (case does not matter)", value)
            found.append(name)
        return tuple(found)

    def addresses(self, key: str, required: bool = False) -> tuple[str, ...]:
        """E-mail addresses mailbot writes to: never one of the desk's own, which would bring its mail back in."""
        found = self.text_list(key, ADDRESS, "an e-mail address", '["agente1@example.com"]')
        if required and not found:
            raise self.error(key, 'expected at least one e-mail address, such as ["supervisor@example.com"]')
        self._refuse_own(key, found)
        return found

    def address(self, key: str) -> str | None:
        """One optional e-mail address mailbot writes to, lower-cased; see `addresses`."""
        found = self.optional_text(key, ADDRESS, 'an e-mail address, or "" for none')
        if found is None:
            return None
        self._refuse_own(key, [found.lower()])
        return found.lower()

    def _refuse_own(self, key: str, addresses: Iterable[str]) -> None:
        for address in addresses:
            if address in self.reader.own_addresses:
                raise self.error(key, "expected an address that is not the desk's own ([[queues]] address): "
                                      "mail to it would come back to mailbot", address)

    def integer(self, key: str, default: int | None, low: int, high: int) -> int:
        value = self._get(key, int, default, f"an integer {low}–{high}")
        if not low <= value <= high:
            raise self.error(key, f"expected an integer {low}–{high}", value)
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self._get(key, float, default, f"a number of seconds {low:g}–{high:g}")
        if not low <= value <= high:
            raise self.error(key, f"expected a number {low:g}–{high:g}", value)
        return value

    def flag(self, key: str, default: bool) -> bool:
        return self._get(key, bool, default, "true or false")

    def choice(self, key: str, choices: tuple[T, ...], default: T | None = None) -> T:
        expected = " or ".join(f'"{c}"' for c in choices)
        value = self._get(key, str, default, expected)
        if value not in choices:
            raise self.error(key, f"expected {expected}", value)
        return value

    def duration(self, key: str, default: Duration | None) -> Duration:
        """Business time, read by `parse_duration`; zero is refused, as no deadline or wait is meant to be now."""
        if key not in self.data and default is not None:
            self.seen.add(key)
            return default
        value = self._parsed(key, DURATION_EXPECTED, parse_duration)
        if value == Duration():
            raise self.error(key, f"expected {DURATION_EXPECTED}, longer than zero", self.data[key])
        return value

    def size(self, key: str, default: int, low: int, high: int) -> int:
        """Bytes: a TOML integer, or a string with its unit read by `parse_size`."""
        self.seen.add(key)
        value = self.data.get(key, default)
        if isinstance(value, str):
            value = self._parsed(key, SIZE_EXPECTED, parse_size)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(key, f"expected {SIZE_EXPECTED}", value)
        if not low <= value <= high:
            raise self.error(key, f"expected a size from {low:,} to {high:,} bytes", self.data[key])
        return value

    def _parsed(self, key: str, expected: str, parse: Callable[[str], T]) -> T:
        """A string given to a parser whose ValueError already says what it expected and what it got."""
        text = self._get(key, str, None, expected)
        try:
            return parse(text)
        except ValueError as error:
            raise self.error(key, str(error)) from None

    def secret(self, key: str, required: bool, min_length: int = 0) -> str | None:
        """A secret from `<key>_env` (an environment variable's name), `<key>_file`, or a literal `<key>`.

        None when none is given, or when the reader reads no secrets. A secret shorter than `min_length` is refused
        (its length is said, never its text)."""
        env_name = self.optional_text(f"{key}_env")
        file_name = self.optional_text(f"{key}_file")
        literal = self._get(key, str, "", "a string") if key in self.data else None
        given = [k for k, v in ((f"{key}_env", env_name), (f"{key}_file", file_name), (key, literal)) if v]
        if len(given) > 1:
            raise self.error(key, f"give only one of {', '.join(given)}")
        if not self.reader.secrets:
            return None
        if env_name:
            source, value = f"{key}_env", self._from_environment(f"{key}_env", env_name)
        elif file_name:
            source, value = f"{key}_file", self._from_file(f"{key}_file", file_name)
        elif literal:
            self.reader.warnings.append(
                f"{self.reader.path}: [{self.name}] {key}: a literal {key} is in the file; "
                f"prefer {key}_env or {key}_file"
            )
            source, value = key, literal
        elif required:
            raise self.error(f"{key}_env", f"missing; expected {key}_env or {key}_file{self._typo_of(key + '_file')}")
        else:
            return None
        if len(value) < min_length:
            raise self.error(source, f"expected a secret of at least {min_length} characters, got {len(value)}; "
                                     "make one with: python3 -c 'import secrets; print(secrets.token_hex(32))'")
        return value

    def _from_environment(self, key: str, name: str) -> str:
        if name not in os.environ:
            raise self.error(key, f"environment variable {name} is not set")
        if not os.environ[name]:
            raise self.error(key, f"environment variable {name} is empty")  # a login with it would only fail later
        return os.environ[name]

    def _from_file(self, key: str, name: str) -> str:
        path = self.reader.resolve(name)
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise self.error(key, f"cannot read {path}: {exc.strerror}") from None
        if not value:
            raise self.error(key, f"{path} is empty")
        return value

    def done(self) -> None:
        """Refuse the first key no getter read, naming the known ones and the likeliest meant."""
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise self.error(unknown[0], unknown_key(unknown[0], self.seen))


def unknown_key(key: str, known: Collection[str], what: str = "key") -> str:
    """The expectation for a key nobody reads: 'unknown key; known keys here: a, b (did you mean "b"?)'."""
    return f"unknown {what}; known {what}s here: {', '.join(sorted(known))}{did_you_mean(key, known)}"


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """' (did you mean "oficina"?)' when one candidate looks like a typo of `word`, else ""."""
    close = _closest(word, candidates)
    return f' (did you mean "{close}"?)' if close else ""


def _closest(word: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None
