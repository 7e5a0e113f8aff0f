"""Message templates: one file per channel and language, templates/<channel>/<lang>.txt.j2 for the first contact
and templates/<channel>/<kind>/<lang>.txt.j2 for the other kinds (e.g. opt_out_confirmation).

A first contact may have several wordings (variants) per language: <lang>.txt.j2 is variant "a", and
<lang>.<variant>.txt.j2 adds one more (e.g. nl.b.txt.j2). Each person gets one variant, chosen by a seeded hash of
the person id, so a person always gets the same wording and `outreach stats --by template` can compare them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

from outreach.errors import ConfigError
from outreach.settings import OrganisationSettings
from outreach.store.states import MessageKind

DEFAULT_VARIANT = "a"
VARIANT_NAME = re.compile(r"[a-z0-9_-]{1,20}")


@dataclass(frozen=True)
class Rendered:
    language: str
    body: str
    variant: str = DEFAULT_VARIANT


def assign_variant(variants: list[str], person_id: int, seed: str) -> str:
    """The same person and seed always give the same variant; over many persons the variants are about equally
    common (a hash, not random.Random, so that no state has to be stored to repeat the choice)."""
    ordered = sorted(variants)
    digest = hashlib.sha256(f"{seed}:{person_id}".encode()).digest()
    return ordered[int.from_bytes(digest[:8], "big") % len(ordered)]


class TemplateBook:
    def __init__(
        self,
        folder: Path,
        languages: list[str],
        fallback: str,
        channel: str = "sms",
        kind: MessageKind = MessageKind.FIRST_CONTACT,
        variant_seed: str = "",
    ) -> None:
        self.channel = channel
        self.kind = kind
        self.fallback = fallback
        self.variant_seed = variant_seed
        self._folder = folder
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(folder)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # plain-text SMS, never HTML  # noqa: S701
            keep_trailing_newline=False,
        )
        self._templates: dict[str, dict[str, jinja2.Template]] = {}
        for language in languages:
            names = {DEFAULT_VARIANT: self._name(language, DEFAULT_VARIANT)}
            if kind == MessageKind.FIRST_CONTACT:
                names.update({variant: self._name(language, variant) for variant in self._extra_variants(language)})
            self._templates[language] = {variant: self._load(name, language) for variant, name in names.items()}

    def _name(self, language: str, variant: str) -> str:
        if self.kind != MessageKind.FIRST_CONTACT:
            return f"{self.channel}/{self.kind}/{language}.txt.j2"
        suffix = "" if variant == DEFAULT_VARIANT else f".{variant}"
        return f"{self.channel}/{language}{suffix}.txt.j2"

    def _extra_variants(self, language: str) -> list[str]:
        found = []
        for path in (self._folder / self.channel).glob(f"{language}.*.txt.j2"):
            variant = path.name[len(language) + 1 : -len(".txt.j2")]
            if not VARIANT_NAME.fullmatch(variant) or variant == DEFAULT_VARIANT:
                raise ConfigError(
                    f"template {path}: variant name {variant!r} must be lower-case letters, digits, - or _ "
                    f"(and not {DEFAULT_VARIANT!r}, the name of {language}.txt.j2)"
                )
            found.append(variant)
        return sorted(found)

    def _load(self, name: str, language: str) -> jinja2.Template:
        try:
            return self._env.get_template(name)
        except jinja2.TemplateNotFound as exc:
            raise ConfigError(f"languages: no template {self._folder / name} for language {language!r}") from exc
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"template {self._folder / name}: line {exc.lineno}: {exc.message}") from exc

    @property
    def languages(self) -> list[str]:
        return sorted(self._templates)

    def variants(self, language: str) -> list[str]:
        return sorted(self._templates[language])

    def template_language(self, language: str | None) -> str:
        """The language a message for this detected language is written in: its own, or the fallback."""
        return language if language in self._templates else self.fallback

    def render(
        self,
        language: str | None,
        organisation: OrganisationSettings,
        *,
        person_id: int | None = None,
        variant: str | None = None,
    ) -> Rendered:
        """The message for a detected language, or the fallback template when there is none for it.

        person_id: choose this person's variant; variant: that one (previews); neither: variant "a"."""
        chosen = self.template_language(language)
        available = self._templates[chosen]
        if variant is None:
            variant = (
                DEFAULT_VARIANT if person_id is None else assign_variant(list(available), person_id, self.variant_seed)
            )
        if variant not in available:
            raise ConfigError(
                f"template {self.channel}/{chosen}: no variant {variant!r} (have {', '.join(sorted(available))})"
            )
        try:
            body = available[variant].render(
                organisation=organisation.name,
                fieldworker=organisation.fieldworker,
                contact=organisation.contact,
                stop=organisation.stop_keyword,
            )
        except jinja2.TemplateError as exc:  # an unknown variable (strict undefined) or a failing filter
            raise ConfigError(f"template {self._name(chosen, variant)}: {exc.message}") from exc
        return Rendered(chosen, " ".join(body.split()), variant)
