"""feeds.yaml: read, validate against schemas/feeds.schema.json, report errors with lines."""

from __future__ import annotations

import copy
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import fastjsonschema
import yaml
from jsonschema import Draft202012Validator, ValidationError

from worker.errors import ConfigError
from worker.jsonschemas import load_schema

DEFAULT_INTERVAL = 900


@dataclass(frozen=True)
class FeedSpec:
    name: str
    url: str
    interval_seconds: int = DEFAULT_INTERVAL
    tags: tuple[str, ...] = ()
    enabled: bool = True
    respect_robots: bool = True
    adaptive: bool = False
    # Query parameters (glob patterns) dropped from this feed's article URLs, on top of the
    # service's pure-tracking list: canonicalize(url, spec.strip_params).
    strip_params: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedsFile:
    feeds: list[FeedSpec]
    allow_private_networks: bool = False


@dataclass(frozen=True)
class Problem:
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.path or '(top)'}: {self.message}"


class FeedsFileError(ConfigError):
    reason = "feeds_file_invalid"

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        super().__init__(f"{path}: " + "; ".join(str(p) for p in problems))
        self.problems = problems


# libyaml's loader when PyYAML was built with it: ten times the pure-Python one on a big file.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema("feeds.schema.json"))


@lru_cache(maxsize=1)
def _outline_validator() -> Draft202012Validator:
    """The file's schema without its per-feed part: the feeds are checked one by one."""
    schema = copy.deepcopy(load_schema("feeds.schema.json"))
    schema["properties"]["feeds"]["items"] = True
    return Draft202012Validator(schema)


@lru_cache(maxsize=1)
def _feed_validators() -> tuple[Callable[[dict], object], Draft202012Validator]:
    """The feed sub-schema twice: compiled to Python code (a cheap yes or no per feed) and
    as jsonschema's validator, which words the messages of the few feeds that fail."""
    feed_schema = load_schema("feeds.schema.json")["properties"]["feeds"]["items"]
    return fastjsonschema.compile(feed_schema), Draft202012Validator(feed_schema)


def _feed_is_valid(feed) -> bool:
    compiled, _ = _feed_validators()
    try:
        compiled(feed)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def _schema_errors(data) -> list[tuple[tuple, ValidationError]]:
    """(path, error) of every schema violation; 100,000 feeds cost a fraction of a second."""
    feeds = data.get("feeds") if isinstance(data, dict) else None
    if not isinstance(feeds, list):
        return [(tuple(e.absolute_path), e) for e in _validator().iter_errors(data)]
    # The outline sees one feed only: the list's type and length, not its items.
    errors = [(tuple(e.absolute_path), e)
              for e in _outline_validator().iter_errors({**data, "feeds": feeds[:1]})]
    _, worded = _feed_validators()
    for i, feed in enumerate(feeds):
        if not _feed_is_valid(feed):
            errors += [(("feeds", i, *e.absolute_path), e) for e in worded.iter_errors(feed)]
    return errors


def _lines(node, path=(), out=None) -> dict[tuple, int]:
    """Map each JSON path in the YAML document to its 1-based line number."""
    out = {} if out is None else out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*path, key.value)] = key.start_mark.line + 1
            _lines(value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)
    return out


def _problem_paths(data) -> list[tuple[tuple, str]]:
    """(path, message) of every problem: schema violations, else repeated URLs."""
    found = []
    for path, error in sorted(_schema_errors(data), key=lambda pe: list(pe[0])):
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            # Point at the unknown key itself, not at the start of its object.
            known = set(error.schema.get("properties", {}))
            extra = [k for k in error.instance if k not in known]
            path = (*path, extra[0]) if extra else path
        found.append((path, error.message))
    if not found:
        seen: dict[str, int] = {}
        for i, feed in enumerate(data["feeds"]):
            if feed["url"] in seen:
                found.append((("feeds", i, "url"), f"same URL as feed #{seen[feed['url']]}"))
            seen.setdefault(feed["url"], i)
    return found


@contextmanager
def paused_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector: a big file makes hundreds of thousands of
    objects that all live on, and the collector would scan them again and again (it
    tripled the load time of 100,000 feeds)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def check_text(text: str) -> tuple[dict | None, list[Problem]]:
    """Parse and validate the YAML text; every problem found, each with its line."""
    with paused_cycle_collection():
        return _check_text(text)


def _check_text(text: str) -> tuple[dict | None, list[Problem]]:
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
        # Lines are only needed to report problems: the node tree is built for bad files only.
        node = yaml.compose(text, Loader=_Loader) if data is None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [Problem(mark.line + 1 if mark else None, "", f"not valid YAML: {exc}")]
    if data is None and node is None:
        return None, [Problem(1, "", "the file is empty")]
    found = _problem_paths(data)
    if not found:
        return data, []
    lines = _lines(yaml.compose(text, Loader=_Loader))
    return None, [Problem(lines.get(path) or lines.get(path[:-1]), "/".join(map(str, path)),
                          message) for path, message in found]


def load(path: Path) -> FeedsFile:
    """The validated feeds file; raises FeedsFileError listing every problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise FeedsFileError(Path(path), [Problem(None, "", f"cannot read: {exc}")]) from exc
    with paused_cycle_collection():
        data, problems = check_text(text)
        if problems:
            raise FeedsFileError(Path(path), problems)
        return _feeds_file(data)


def _feeds_file(data: dict) -> FeedsFile:
    """The feeds of a validated document, with the defaults merged into each."""
    defaults = data.get("defaults") or {}
    specs = []
    for item in data["feeds"]:
        merged = {**defaults, **item}
        specs.append(FeedSpec(
            name=merged["name"], url=merged["url"],
            interval_seconds=int(merged.get("interval_seconds", DEFAULT_INTERVAL)),
            tags=tuple(dict.fromkeys([*defaults.get("tags", []), *item.get("tags", [])])),
            enabled=bool(merged.get("enabled", True)),
            respect_robots=bool(merged.get("respect_robots", True)),
            adaptive=bool(merged.get("adaptive", False)),
            strip_params=tuple(dict.fromkeys([*defaults.get("strip_params", []),
                                              *item.get("strip_params", [])]))))
    return FeedsFile(feeds=specs,
                     allow_private_networks=bool(defaults.get("allow_private_networks", False)))
