"""docs/configuration.md, generated from the settings classes so the reference cannot drift from the code.

`outreach config reference > docs/configuration.md` writes it; tests/test_config_reference.py fails when the
committed file differs from what this module generates. Every setting, nested ones too, gets its type (with the
bounds its Field declares), default, environment variable and an example: the Field's `examples` when it has them,
else the default, which must then say something (an empty default without examples is a documentation bug).
"""

from __future__ import annotations

import json
import shlex
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
import yaml
from pydantic import BaseModel, SecretStr, TypeAdapter
from pydantic.fields import FieldInfo

from outreach.settings import Settings

ENV_PREFIX = str(Settings.model_config.get("env_prefix", ""))
ENV_DELIMITER = str(Settings.model_config.get("env_nested_delimiter", "__"))


@dataclass(frozen=True)
class Setting:
    path: tuple[str, ...]
    field: FieldInfo
    section: str

    @property
    def name(self) -> str:
        return ".".join(self.path)

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + ENV_DELIMITER.join(part.upper() for part in self.path)

    @property
    def description(self) -> str:
        return self.field.description or ""

    @property
    def default(self) -> Any:
        """The default as it would be written in the YAML file (JSON-compatible)."""
        value = self.field.get_default(call_default_factory=True)
        if value is None:
            return None
        annotation: Any = self.field.annotation
        return TypeAdapter(annotation).dump_python(value, mode="json")

    @property
    def example(self) -> Any:
        """A value to show: the Field's first example, else a default that is not empty."""
        if self.field.examples:
            return self.field.examples[0]
        default = self.default
        return None if default in (None, "", [], {}) else default


def settings(model: type[BaseModel] = Settings, prefix: tuple[str, ...] = ()) -> Iterator[Setting]:
    """Every leaf setting, depth first, in the order the classes declare them."""
    section = ".".join(prefix) or "general"
    nested = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            nested.append((name, annotation))
        else:
            yield Setting((*prefix, name), field, section)
    for name, annotation in nested:
        yield from settings(annotation, (*prefix, name))


def type_name(annotation: Any) -> str:
    """A reader's name for a type: `list of str`, `one of: auto, approve`, `secret`, `path`."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Literal:
        return "one of: " + ", ".join(str(arg) for arg in args)
    if origin in (Union, types.UnionType):
        names = [type_name(arg) for arg in args if arg is not type(None)]
        optional = type(None) in args
        return " or ".join(names) + (" (optional)" if optional else "")
    if origin is list:
        return f"list of {type_name(args[0])}"
    if origin is dict:
        return f"mapping of {type_name(args[0])} to {type_name(args[1])}"
    if annotation is SecretStr:
        return "secret string"
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "path"
    if annotation.__module__ == "datetime" and annotation.__name__ == "time":
        return "time (HH:MM or HH:MM:SS)"
    return str(getattr(annotation, "__name__", annotation))


def bounds(field: FieldInfo) -> str:
    """The numeric limits a Field declares (gt=0, le=100 ...), as `> 0, <= 100`."""
    symbols = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
    found = []
    for item in field.metadata:
        if isinstance(item, (annotated_types.Gt, annotated_types.Ge, annotated_types.Lt, annotated_types.Le)):
            found += [f"{symbol} {getattr(item, name)}" for name, symbol in symbols if hasattr(item, name)]
    return ", ".join(found)


def env_value(value: Any) -> str:
    """How a value is written in an environment variable: plain for scalars, JSON for lists and mappings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def yaml_example(setting: Setting, value: Any) -> str:
    nested: Any = value
    for part in reversed(setting.path):
        nested = {part: nested}
    return yaml.safe_dump(nested, default_flow_style=True, allow_unicode=True, width=1000).strip()


def _code(text: str) -> str:
    """Markdown inline code that survives backticks in the text."""
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def render() -> str:
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `outreach config reference > docs/configuration.md`; edit the Field descriptions in",
        "outreach/settings.py instead of this file. tests/test_config_reference.py fails when the two differ. -->",
        "",
        "Settings come from, highest priority first: environment variables, then the YAML settings file",
        "(`config/outreach.yaml`, or the file named by `--config` or `OUTREACH_CONFIG`), then the defaults below.",
        f"A nested setting such as `twilio.account_sid` is the variable `{ENV_PREFIX}TWILIO{ENV_DELIMITER}ACCOUNT_SID`",
        f"(prefix `{ENV_PREFIX}`, levels joined by `{ENV_DELIMITER}`). Lists and mappings are written as JSON in",
        "a variable. A bad value stops every command at start-up with the setting's name; `outreach config check`",
        "then checks the installation as a whole (database, keys, Twilio, site files, templates).",
        "",
        "Secrets (`hmac_key`, `fernet_key`, `twilio.auth_token`) can instead be read from a file named by the",
        "matching `*_file` setting; the file must not be readable by group or others (`chmod 600`).",
        "",
    ]
    section = None
    for setting in settings():
        if setting.section != section:
            section = setting.section
            lines += [f"## {section}", ""]
        lines += [f"### `{setting.name}`", "", setting.description, ""]
        kind = type_name(setting.field.annotation)
        limits = bounds(setting.field)
        lines.append(f"- type: {kind}" + (f" ({limits})" if limits else ""))
        default = setting.default
        lines.append("- default: " + ("none" if default is None else _code(json.dumps(default, ensure_ascii=False))))
        lines.append(f"- environment: `{setting.env_var}`")
        example = setting.example
        if example is not None:
            lines.append(f"- example: {_code(setting.env_var + '=' + shlex.quote(env_value(example)))}")
            lines.append(f"  or in the settings file {_code(yaml_example(setting, example))}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(render(), end="")
