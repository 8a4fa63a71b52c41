"""The jinja context dbt gives the project's SQL while it parses, for sqlfluff's jinja templater.

Lint only: `.sqlfluff` points `library_path` here and sqlfluff exposes this module's top-level
names to the templates it renders; dbt never imports it. It holds the project's macros
(macros/**/*.sql but the materializations) and the few dbt context members they use. With
`execute` false, a macro that reads the warehouse takes the branch it takes while dbt parses
(no run_query, no adapter), so the models render through their real macros without Spark.

sqlfluff's own `load_macros_from_path` cannot do this: it renders each macro file against a
snapshot of the context, so a macro calling one from another file (lakehouse_ide_session_id
calls lakehouse_iso_ms) finds it undefined. Here every file is read as one template.

A generic test's `{% test %}` block is rendered in place (its arguments named by their own
names), so its SQL is linted too; sqlfluff's dbt builtins only define it as a macro.
"""

from __future__ import annotations

import json as _json
from pathlib import Path as _Path
from types import SimpleNamespace as _Namespace
from typing import Any as _Any

import yaml as _yaml
from jinja2 import StrictUndefined as _StrictUndefined
from jinja2 import TemplateError as _TemplateError
from jinja2 import nodes as _nodes
from jinja2.runtime import Macro as _Macro
from jinja2.sandbox import SandboxedEnvironment as _SandboxedEnvironment

_ROOT = _Path(__file__).resolve().parents[2]
_VARS: dict[str, _Any] = _yaml.safe_load((_ROOT / "dbt_project.yml").read_text()).get("vars") or {}

execute = False
# The model's own table, as macros see it (sqlfluff's dbt builtins give it to models only).
this = "this_model"


def var(name: str, default: _Any = None) -> _Any:
    """dbt's var(): the vars of dbt_project.yml."""
    return _VARS.get(name, default)


def ref(*names: str, **_: _Any) -> str:
    """dbt's ref() as macros see it: the model's name stands for its relation."""
    return names[-1]


def is_incremental() -> bool:
    """As sqlfluff's dbt builtins answer it in the models (macros see this one)."""
    return True


def tojson(value: _Any, default: _Any = None, sort_keys: bool = False) -> str:
    return _json.dumps(value, default=default, sort_keys=sort_keys)


def fromjson(text: str, default: _Any = None) -> _Any:
    try:
        return _json.loads(text)
    except ValueError:
        return default


def log(msg: str, info: bool = False) -> str:
    return ""


def _raise_compiler_error(msg: str) -> None:
    raise _TemplateError(msg)


exceptions = _Namespace(raise_compiler_error=_raise_compiler_error)

# dbt-spark's spark__current_timestamp
dbt = _Namespace(current_timestamp=lambda: "current_timestamp()")


# dbt's `{% do return(value) %}` ends the macro with `value` (any object, not only text): dbt
# catches the exception it raises around every macro call, plain Jinja needs the same around
# Macro._invoke. sqlfluff runs this module again for every file: the wrapper is installed once
# and every later run raises the exception type it catches.
class _MacroReturn(Exception):
    def __init__(self, value: _Any) -> None:
        super().__init__()
        self.value = value


def _install_macro_return() -> type[_MacroReturn]:
    installed: type[_MacroReturn] | None = getattr(_Macro._invoke, "macro_return", None)
    if installed is not None:
        return installed
    invoke = _Macro._invoke

    def _invoke(self: _Macro, arguments: list[_Any], autoescape: bool) -> _Any:
        try:
            return invoke(self, arguments, autoescape)
        except _MacroReturn as returned:
            return returned.value

    _invoke.macro_return = _MacroReturn  # type: ignore[attr-defined]
    _Macro._invoke = _invoke  # type: ignore[method-assign]
    return _MacroReturn


_RETURN = _install_macro_return()


def _return(value: _Any = "") -> None:
    raise _RETURN(value)


globals()["return"] = _return


def _load_project_macros() -> dict[str, _Macro]:
    context = {name: value for name, value in globals().items() if not name.startswith("_")}
    context["return"] = _return
    # Strict: a macro that reaches run_query, adapter or graph at lint time fails loudly.
    env = _SandboxedEnvironment(
        extensions=["jinja2.ext.do"], keep_trailing_newline=True, undefined=_StrictUndefined
    )
    macros_dir = _ROOT / "macros"
    source = "\n".join(
        path.read_text()
        for path in sorted(macros_dir.rglob("*.sql"))
        if "materializations" not in path.relative_to(macros_dir).parts
    )
    module = env.from_string(source, globals=context).module
    return {name: value for name, value in vars(module).items() if isinstance(value, _Macro)}


globals().update(_load_project_macros())


class _TestArgument(str):
    """A generic test's argument at lint time: its name, also as a one-element list of names."""

    def __iter__(self):  # type: ignore[override]
        yield str(self)


def lint_test_argument(name: str) -> _TestArgument:
    return _TestArgument(name)


def _render_test_blocks_in_place() -> None:
    from sqlfluff.core.templaters.jinja import DBTTestExtension

    if getattr(DBTTestExtension.parse, "in_place", False):
        return

    def parse(self: DBTTestExtension, parser: _Any) -> _nodes.Node:
        lineno = next(parser.stream).lineno
        parser.parse_assign_target(name_only=True)
        signature = _nodes.Macro(lineno=lineno)
        parser.parse_signature(signature)
        body = parser.parse_statements(("name:endtest",), drop_needle=True)
        targets = [_nodes.Name(arg.name, "param", lineno=lineno) for arg in signature.args]
        values = [
            _nodes.Call(
                _nodes.Name("lint_test_argument", "load", lineno=lineno),
                [_nodes.Const(arg.name, lineno=lineno)],
                [],
                None,
                None,
                lineno=lineno,
            )
            for arg in signature.args
        ]
        return _nodes.With(targets, values, body, lineno=lineno)

    parse.in_place = True  # type: ignore[attr-defined]
    DBTTestExtension.parse = parse  # type: ignore[method-assign]


_render_test_blocks_in_place()


def lakehouse_stored(model_name: str) -> str:
    """Stand-in: the stored model's table, as on every run after the first.

    dbt's parse-time answer (none) would leave the branch that reads it unrendered; sqlfluff's
    variants (render_variant_limit) render the `stored is none` branch.
    """
    return model_name
