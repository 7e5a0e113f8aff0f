"""Quick replies: short answers per language, kept as templates/quick_replies/<lang>.yaml next to the message
templates. A fieldworker puts one in the answer box on a case page and changes it before sending; `outreach templates
check` checks them (readable, within cases.reply_max_segments SMS parts, no forbidden word)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from outreach.errors import ConfigError

FOLDER = "quick_replies"


@dataclass(frozen=True)
class QuickReply:
    language: str
    title: str
    text: str


def quick_replies(templates_dir: Path, language: str, organisation: str, fieldworker: str) -> list[QuickReply]:
    """The quick replies of `language` with {organisation} and {fieldworker} filled in; [] when it has none.
    A file that cannot be read is one ConfigError naming it."""
    path = templates_dir / FOLDER / f"{language}.yaml"
    if not path.is_file():
        return []
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not readable YAML ({exc.__class__.__name__})") from exc
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected a list of {{title, text}}")
    found = []
    for number, entry in enumerate(entries, 1):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("title"), str)
            or not isinstance(entry.get("text"), str)
        ):
            raise ConfigError(f"{path}: entry {number} needs a title and a text")
        text = entry["text"].replace("{organisation}", organisation).replace("{fieldworker}", fieldworker)
        found.append(QuickReply(language, entry["title"].strip(), " ".join(text.split())))
    if len({reply.title for reply in found}) != len(found):
        raise ConfigError(f"{path}: two quick replies have the same title")
    return found


def languages(templates_dir: Path) -> list[str]:
    folder = templates_dir / FOLDER
    return sorted(path.stem for path in folder.glob("*.yaml")) if folder.is_dir() else []
