"""Message templates: one file per channel and language, templates/<channel>/<lang>.txt.j2 for the first contact
and templates/<channel>/<kind>/<lang>.txt.j2 for the other kinds (e.g. opt_out_confirmation)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from outreach.errors import ConfigError
from outreach.settings import OrganisationSettings


@dataclass(frozen=True)
class Rendered:
    language: str
    body: str


class TemplateBook:
    def __init__(
        self, folder: Path, languages: list[str], fallback: str, channel: str = "sms", kind: str = "first_contact"
    ) -> None:
        self.channel = channel
        self.kind = kind
        self.fallback = fallback
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(folder)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # plain-text SMS, never HTML  # noqa: S701
            keep_trailing_newline=False,
        )
        self._templates: dict[str, jinja2.Template] = {}
        for language in languages:
            name = f"{channel}/{language}.txt.j2" if kind == "first_contact" else f"{channel}/{kind}/{language}.txt.j2"
            try:
                self._templates[language] = self._env.get_template(name)
            except jinja2.TemplateNotFound as exc:
                raise ConfigError(f"languages: no template {folder / name} for language {language!r}") from exc
            except jinja2.TemplateSyntaxError as exc:
                raise ConfigError(f"template {folder / name}: line {exc.lineno}: {exc.message}") from exc

    @property
    def languages(self) -> list[str]:
        return sorted(self._templates)

    def render(self, language: str | None, organisation: OrganisationSettings) -> Rendered:
        """The message for a detected language, or the fallback template when there is none for it."""
        chosen = language if language in self._templates else self.fallback
        try:
            body = self._templates[chosen].render(
                organisation=organisation.name,
                fieldworker=organisation.fieldworker,
                contact=organisation.contact,
                stop=organisation.stop_keyword,
            )
        except jinja2.UndefinedError as exc:
            raise ConfigError(f"template {self.channel}/{chosen}: {exc.message}") from exc
        return Rendered(chosen, " ".join(body.split()))
