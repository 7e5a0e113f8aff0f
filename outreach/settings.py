"""One typed settings object, built once at start-up from config/outreach.yaml and OUTREACH_* variables.

Priority, highest first: explicit overrides (the demo, tests) > environment > the YAML file > defaults.
Secrets may also come from files (`hmac_key_file`, `fernet_key_file`, `twilio.auth_token_file`), which must not be
readable by group or others.
"""

from __future__ import annotations

import functools
import os
import stat
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from outreach.errors import ConfigError

DEFAULT_CONFIG_FILE = Path("config/outreach.yaml")


def read_secret_file(path: Path, setting: str) -> str:
    """Read a key file; refuse one that others can read, because the key protects every stored number."""
    try:
        mode = path.stat().st_mode
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{setting}: {path} is readable by others; run: chmod 600 {path}")
    if not value:
        raise ConfigError(f"{setting}: {path} is empty")
    return value


class OrganisationSettings(BaseModel):
    name: str = Field("Demo Outreach", description="Organisation name, shown in every message.")
    fieldworker: str = Field("Sanne", description="First name of the fieldworker who signs messages.")
    contact: str = Field(
        "",
        description="Optional web address or phone number for questions, shown in messages.",
        examples=["example.org/hulp"],
    )
    stop_keyword: str = Field("STOP", description="The word a recipient replies with to stop all messages.")


class TwilioSettings(BaseModel):
    account_sid: str = Field(
        "", description="Twilio Account SID (AC...).", examples=["AC0123456789abcdef0123456789abcdef"]
    )
    auth_token: SecretStr | None = Field(None, description="Twilio auth token.", examples=["<from the Twilio console>"])
    auth_token_file: Path | None = Field(
        None,
        description="File holding the Twilio auth token (mode 0600).",
        examples=["/run/secrets/twilio_auth_token"],
    )
    from_number: str = Field(
        "", description="Two-way sender number in E.164 (replies and STOP reach us).", examples=["+15005550006"]
    )
    messaging_service_sid: str = Field(
        "",
        description="Messaging Service SID (MG...), instead of from_number.",
        examples=["MG0123456789abcdef0123456789abcdef"],
    )
    api_base_url: str = Field(
        "https://api.twilio.com",
        description="Twilio REST API base URL; the test gateway in tests and the demo.",
    )
    timeout_seconds: float = Field(15.0, gt=0, description="HTTP timeout for one API call.")

    @model_validator(mode="after")
    def _token_from_file(self) -> TwilioSettings:
        if self.auth_token is None and self.auth_token_file is not None:
            self.auth_token = SecretStr(read_secret_file(self.auth_token_file, "twilio.auth_token_file"))
        return self


class SendingSettings(BaseModel):
    mode: Literal["auto", "approve", "assist"] = Field(
        "auto",
        description="auto: the cycle sends; approve: a supervisor approves each batch (`outreach approve`); "
        "assist: a fieldworker sends first contacts one by one (`outreach assist`).",
    )
    timezone: str = Field(
        "Europe/Amsterdam",
        description="The organisation's time zone: the send window, the local days that counts and caps use, and "
        "the times the dashboard and the CLI's tables show.",
    )
    window_start: time = Field(time(10, 0), description="No message is sent before this local time.")
    window_end: time = Field(
        time(20, 0),
        description="No message is sent or delivered after this local time. Equal to window_start: all day; "
        "before window_start: the window spans midnight.",
    )
    per_second: float = Field(1.0, gt=0, le=100, description="Messages per second per sender process.")
    daily_cap: int = Field(200, ge=0, description="At most this many messages per local day, all senders together.")
    cycle_cap: int = Field(
        100,
        ge=0,
        description="At most this many messages per cycle; in a cycle of named organisations (the scheduler's, "
        "`outreach cycle --organisation`) per organisation.",
    )
    retry_attempts: int = Field(5, ge=0, le=20, description="Retries of a rate-limited (429) send.")
    retry_max_seconds: float = Field(30.0, gt=0, description="Longest wait between rate-limit retries.")
    stale_claim_minutes: int = Field(
        10, ge=1, description="A message claimed this long ago whose sender is gone is reconciled."
    )
    breaker_failures: int = Field(
        5,
        ge=1,
        le=100,
        description="After this many sends in a row failed the same way (provider unreachable, 5xx, the same "
        "error code), sending stops for the run and the rest stays queued: the run is reported failed.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class WhatsAppSettings(BaseModel):
    enabled: bool = Field(False, description="Use WhatsApp where Meta's rules allow it (see the README).")
    from_number: str = Field("", description="The WhatsApp sender number in E.164.", examples=["+15005550006"])
    first_contact: bool = Field(
        False,
        description="Allow first contact over WhatsApp (only with an approved Content template per language).",
    )
    content_sids: dict[str, str] = Field(
        default_factory=dict,
        description="Approved Content template SID (HX...) per language, for first contact.",
        examples=[{"nl": "HX0123456789abcdef0123456789abcdef"}],
    )
    fallback_to_sms: bool = Field(True, description="On 63016 (outside the window) or 63024 (no WhatsApp), send SMS.")


class WebSettings(BaseModel):
    public_url: str = Field(
        "",
        description="The address Twilio calls (https://host, as seen from the internet, behind any proxy); "
        "webhook signatures are checked against it.",
        examples=["https://outreach.example.org"],
    )
    host: str = Field("127.0.0.1", description="Address `outreach serve` listens on.")
    port: int = Field(8080, ge=0, le=65535, description="Port `outreach serve` listens on.")
    language: Literal["nl", "en"] = Field(
        "nl", description="The dashboard's language until a user chooses their own (nl: Dutch, en: English)."
    )
    keep_alive_seconds: int = Field(
        5, ge=1, le=300, description="`outreach serve` closes a connection idle this long between requests."
    )
    max_concurrency: int = Field(
        200,
        ge=1,
        description="At most this many connections and requests at once; more get 503 at once instead of waiting "
        "(README, Behind a reverse proxy: the proxy times out slow clients).",
    )
    count_at_start: bool = Field(
        True,
        description="Count the overview of every configured organisation when the dashboard starts, in the "
        "background, so that no first view waits for it (about 0.15 s per organisation at 100,000 messages).",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks of the reverse proxies in front of `outreach serve`; only from these is "
        "X-Forwarded-For believed (README, Behind a reverse proxy). Empty: the header is ignored.",
        examples=[["127.0.0.1"]],
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not an IP address or network") from exc
        return value


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKING_DAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")


class CaseSettings(BaseModel):
    outcome_labels: list[str] = Field(
        default_factory=lambda: [
            "informatie gegeven",
            "doorverwezen",
            "afspraak gemaakt",
            "geen hulp gewenst",
            "zorgen over veiligheid",
        ],
        description="What can come of a conversation: the labels a fieldworker puts on a case (several per case); "
        "counted in the statistics.",
    )
    reply_max_segments: int = Field(
        4, ge=1, le=10, description="Most SMS parts a fieldworker's answer may cost (the page counts as you type)."
    )
    escalate_after_minutes: int = Field(
        60,
        ge=1,
        description="A person waiting longer than this for an answer, counted in office hours, is flagged and the "
        "supervisors are notified (`notify`, with the case's id and link only).",
    )
    office_days: list[Weekday] = Field(
        default_factory=lambda: list(WORKING_DAYS),
        description="The days on which waiting time counts (in `sending.timezone`).",
    )
    office_start: time = Field(time(9, 0), description="Waiting time counts from this local time ...")
    office_end: time = Field(time(17, 0), description="... to this one (after office_start).")
    check_every_minutes: int = Field(5, ge=1, le=60, description="How often the scheduler looks for waiting cases.")

    @model_validator(mode="after")
    def _office_hours(self) -> CaseSettings:
        if self.office_end <= self.office_start:
            raise ValueError("cases.office_end must be after cases.office_start")
        return self

    @field_validator("outcome_labels")
    @classmethod
    def _labels(cls, value: list[str]) -> list[str]:
        cleaned = [label.strip() for label in value]
        if any(not label or len(label) > 60 for label in cleaned) or len(set(cleaned)) != len(cleaned):
            raise ValueError("each outcome label is 1 to 60 characters and appears once")
        return cleaned


class NotifySettings(BaseModel):
    method: Literal["log", "smtp", "webhook"] = Field(
        "log", description="How fieldworkers hear about a reply: a log line, an e-mail, or a POST to a URL."
    )
    smtp_host: str = Field("", description="SMTP server for e-mail notifications.", examples=["smtp.example.org"])
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port.")
    smtp_from: str = Field("", description="Sender address of notification e-mails.", examples=["outreach@example.org"])
    smtp_to: list[str] = Field(
        default_factory=list, description="Who gets notification e-mails.", examples=[["team@example.org"]]
    )
    webhook_url: str = Field(
        "",
        description="URL that receives a JSON POST per notification (no personal data).",
        examples=["https://chat.example.org/hooks/outreach"],
    )

    @model_validator(mode="after")
    def _complete(self) -> NotifySettings:
        if self.method == "smtp" and not (self.smtp_host and self.smtp_from and self.smtp_to):
            raise ValueError("method smtp needs smtp_host, smtp_from and smtp_to")
        if self.method == "webhook" and not self.webhook_url:
            raise ValueError("method webhook needs webhook_url")
        return self


class ScheduleSettings(BaseModel):
    cycle_cron: str = Field(
        "*/30 8-22 * * *",
        description="When `outreach scheduler` runs a cycle (crontab: minute hour day month weekday; weekdays as "
        "in cron: 1-5 is Monday to Friday, 0 and 7 are Sunday).",
    )
    cycle_interval_seconds: int | None = Field(
        None,
        ge=1,
        description="Run a cycle every this many seconds instead of on cycle_cron (unset: use cycle_cron).",
        examples=[1800],
    )
    purge_cron: str = Field("30 3 * * *", description="When `outreach scheduler` runs the retention purge.")
    audit_verify_cron: str = Field(
        "0 4 * * *",
        description="When `outreach scheduler` verifies the whole audit chain and records the result (a "
        "checkpoint: the dashboard's /audit page then verifies only the events after it).",
    )
    audit_verify_max_age_days: int = Field(
        2,
        ge=1,
        description="The /audit page warns when the last full verification of the audit chain is older than this "
        "many days (the scheduler runs one a day; `outreach audit verify` records one too).",
    )
    timezone: str = Field("Europe/Amsterdam", description="Time zone of the schedules.")
    lock_seconds: int = Field(
        300, ge=30, description="A cycle's lock expires this long after its holder stopped renewing it (a crash)."
    )

    @field_validator("cycle_cron", "purge_cron", "audit_verify_cron")
    @classmethod
    def _crontab(cls, value: str) -> str:
        from outreach.parsing.crontab import cron_trigger

        try:
            cron_trigger(value)
        except ValueError as exc:
            raise ValueError(f"not a crontab expression ({exc})") from exc
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return SendingSettings._known_zone(value)


class RetentionSettings(BaseModel):
    advert_days: int = Field(
        30, ge=1, description="Adverts not seen for this many days, and persons never contacted, are deleted."
    )
    contact_days: int = Field(
        365,
        ge=1,
        description="Messages, and persons not seen or contacted for this many days, are deleted; the opt-out or "
        "block key stays. Must be at least recontact_days, or the re-contact window would be forgotten.",
    )


class CrawlSettings(BaseModel):
    timeout_seconds: int = Field(1800, gt=0, description="A crawl child running longer than this is stopped.")
    log_level: str = Field("INFO", description="Scrapy log level in the crawl child's log file.")
    contact_url: str = Field(
        "",
        description="Where a site owner can reach us, in the crawler's User-Agent (default: organisation.contact).",
        examples=["https://example.org/crawler"],
    )
    chromium_path: Path | None = Field(
        None,
        description="Chromium for sites that need JavaScript. Unset: Debian's chromium-headless-shell when installed "
        "(about a third less CPU per page), else Debian's chromium (/usr/bin/chromium).",
        examples=["/usr/bin/chromium"],
    )


class LanguageSettings(BaseModel):
    """Advert language detection; the defaults were chosen and tuned in bench/langid (BENCHMARKS.md)."""

    detector: Literal["combined", "lingua", "lingua-low", "langdetect", "py3langid"] = Field(
        "py3langid",
        description="Language detector: py3langid (refined by word frequencies, see word_frequencies), combined "
        "(py3langid with lingua's low-accuracy mode), lingua (high accuracy, about 450 MB more), lingua-low or "
        "langdetect.",
    )
    word_frequencies: bool = Field(
        True,
        description="Tell languages apart by the frequencies of their words as well (14 of the 17 candidates): "
        "about 55 MB and 0.15 s to load (BENCHMARKS.md).",
    )
    candidates: list[str] = Field(
        ["nl", "en", "ro", "bg", "pl", "es", "pt", "hu", "ru", "uk", "de", "fr", "it", "sq", "th", "zh", "tr"],
        description="Languages the detector chooses among (ISO 639-1): the 17 the research names.",
    )
    min_letters: int = Field(
        12,
        ge=1,
        description="Fewer letters left after cleaning: too short, fallback template (a Chinese character counts "
        "as three letters, a Thai letter as two).",
    )
    min_confidence: float = Field(
        0.7, ge=0, le=1, description="Below this detector confidence the fallback template is used."
    )
    mixed_languages: list[str] = Field(
        ["nl", "en"], description="When each of these covers mixed_share of the letters, use the fallback template."
    )
    mixed_share: float = Field(
        0.15, gt=0, le=1, description="Share of an advert's letters (its text, not its title) that counts as mixed."
    )

    @field_validator("candidates")
    @classmethod
    def _some_candidates(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must name at least one")
        return value

    @field_validator("mixed_languages")
    @classmethod
    def _two_or_more(cls, value: list[str]) -> list[str]:
        if len(set(value)) < 2:
            raise ValueError("must name at least two languages")
        return value


# Someone controlling the recipient may read their phone: a first message must not name what the advert is about.
DISCRETION_WORDS = [
    "sekswerk",
    "sekswerker",
    "sekswerkers",
    "prostitutie",
    "prostituee",
    "prostituees",
    "uitbuiting",
    "mensenhandel",
    "politie",
    "sex work",
    "sex worker",
    "sex workers",
    "prostitution",
    "prostitute",
    "prostitutes",
    "exploitation",
    "trafficking",
    "police",
]


class TemplateSettings(BaseModel):
    """What `outreach templates check` enforces before any cycle runs."""

    max_segments: int = Field(2, ge=1, le=10, description="Most SMS parts one message may cost.")
    forbidden_words: list[str] = Field(
        default_factory=lambda: list(DISCRETION_WORDS),
        description="Words no template may contain (whole words, case and accents ignored), for discretion.",
    )
    variant_seed: str = Field(
        "outreach", description="Seed for assigning each person a template variant; changing it reshuffles."
    )


def _keyword_key(word: str) -> str:
    # The same folding as advert texts get in outreach.targeting.keyword_rules (accents, case, punctuation).
    from outreach.parsing.folding import normalise

    return normalise(word)


class KeywordSettings(BaseModel):
    """Words matched in an advert's title and text as whole words (or phrases), accents and case ignored."""

    model_config = {"extra": "forbid"}

    include: list[str] = Field(
        default_factory=list,
        description="If set, an advert must contain one of these to be messaged.",
        examples=[["escort", "massage"]],
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="An advert containing one of these is never messaged.",
        examples=[["webcam only"]],
    )
    hold: list[str] = Field(
        default_factory=list,
        description="An advert containing one of these waits for a person's decision (`outreach review`), e.g. "
        "words suggesting a minor or an intermediary.",
        examples=[["17 jaar", "schoolmeisje", "manager"]],
    )

    @field_validator("include", "exclude", "hold")
    @classmethod
    def _words(cls, value: list[str]) -> list[str]:
        for word in value:
            if not _keyword_key(word):
                raise ValueError(f"{word!r} has no letters or digits to match")
        return value

    @model_validator(mode="after")
    def _one_list_each(self) -> KeywordSettings:
        lists = {"include": self.include, "exclude": self.exclude, "hold": self.hold}
        seen: dict[str, str] = {}
        for name, words in lists.items():
            for word in words:
                key = _keyword_key(word)
                if key in seen and seen[key] != name:
                    raise ValueError(f"{word!r} is in both {seen[key]} and {name}")
                seen[key] = name
        return self


class ReminderSettings(BaseModel):
    model_config = {"extra": "forbid"}

    enabled: bool = Field(True, description="Send one reminder to a person who did not answer a first contact.")
    after_days: int = Field(5, ge=1, description="Days after the first contact was sent before the reminder.")


class TargetingSettings(BaseModel):
    """Who gets a message: the organisation's region, target groups and keywords (README, Targeting)."""

    model_config = {"extra": "forbid"}

    municipalities: list[str] = Field(
        default_factory=list,
        description="Municipalities served (any spelling outreach.parsing.places knows, e.g. 'The Hague'); empty: all.",
        examples=[["Rotterdam", "Schiedam"]],
    )
    unknown_city: Literal["skip", "hold"] = Field(
        "hold", description="An advert without a city, when municipalities is set: skip it or hold it for review."
    )
    categories: list[Literal["women", "men", "trans", "couples"]] = Field(
        default_factory=list,
        description="Target groups served (women, men, trans, couples); empty: all.",
        examples=[["men", "trans"]],
    )
    unknown_category: Literal["skip", "hold"] = Field(
        "hold", description="An advert whose category is missing or not recognised, when categories is set."
    )
    keywords: KeywordSettings = KeywordSettings()
    reminder: ReminderSettings = ReminderSettings()

    @field_validator("municipalities")
    @classmethod
    def _places(cls, value: list[str]) -> list[str]:
        from outreach.parsing.places import municipality

        served = []
        for place in value:
            name = municipality(place)
            if name is None:
                raise ValueError(f"{place!r} is not a place name")
            served.append(name)
        return list(dict.fromkeys(served))


class MemberOrganisation(BaseModel):
    """One organisation under a national umbrella: its region, target groups, signature, sender and people.

    Persons, opt-outs, blocks and the contact rhythm are shared: one person is contacted once per window across all
    organisations, and an opt-out with one is honoured by all."""

    model_config = {"extra": "forbid"}

    key: str = Field(description="Short name stored with every message (lower-case letters, digits, -).")
    name: str = Field(description="Organisation name, shown in its messages.")
    fieldworker: str = Field(description="First name of the fieldworker who signs its messages.")
    contact: str = Field("", description="Optional web address or phone number for questions.")
    municipalities: list[str] = Field(description="The municipalities it serves; an advert goes to the one serving it.")
    categories: list[Literal["women", "men", "trans", "couples"]] = Field(
        default_factory=list, description="Its target groups; empty: targeting.categories."
    )
    from_number: str = Field("", description="Its two-way Twilio number; empty: twilio.from_number.")
    messaging_service_sid: str = Field("", description="Its Messaging Service (MG...), instead of from_number.")
    members: list[str] = Field(
        default_factory=list, description="Actors who see this organisation's log (`--as` name or OS user)."
    )
    cycle_cron: str = Field(
        "",
        description="When `outreach scheduler` runs this organisation's cycle (crontab); empty: schedule.cycle_cron "
        "(or schedule.cycle_interval_seconds). The organisations on the same schedule share one cycle: one crawl.",
        examples=["*/30 9-21 * * *"],
    )
    window_start: time | None = Field(
        None, description="Its send window's start (local time); unset: sending.window_start.", examples=["09:00"]
    )
    window_end: time | None = Field(
        None, description="Its send window's end (local time); unset: sending.window_end.", examples=["21:00"]
    )

    @field_validator("key")
    @classmethod
    def _slug(cls, value: str) -> str:
        import re

        if not re.fullmatch(r"[a-z0-9-]{1,40}", value):
            raise ValueError(f"{value!r}: use lower-case letters, digits and -, at most 40")
        return value

    @field_validator("municipalities")
    @classmethod
    def _places(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must name at least one")
        return TargetingSettings._places(value)

    @field_validator("cycle_cron")
    @classmethod
    def _crontab(cls, value: str) -> str:
        return ScheduleSettings._crontab(value) if value else value

    def signature(self, stop_keyword: str) -> OrganisationSettings:
        return OrganisationSettings(
            name=self.name, fieldworker=self.fieldworker, contact=self.contact, stop_keyword=stop_keyword
        )

    @property
    def sender(self) -> str:
        return self.messaging_service_sid or self.from_number


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OUTREACH_",
        env_nested_delimiter="__",
        extra="forbid",
        yaml_file=DEFAULT_CONFIG_FILE,
    )

    database_url: str = Field("sqlite:///var/outreach.db", description="SQLAlchemy URL of the store.")
    hmac_key: SecretStr | None = Field(
        None,
        description="Secret for the keyed hash that identifies persons.",
        examples=["<from outreach keys new>"],
    )
    hmac_key_file: Path | None = Field(
        None, description="File holding hmac_key (mode 0600).", examples=["/run/secrets/hmac_key"]
    )
    fernet_key: SecretStr | None = Field(
        None, description="Fernet key that encrypts stored phone numbers.", examples=["<from outreach keys new>"]
    )
    fernet_key_file: Path | None = Field(
        None, description="File holding fernet_key (mode 0600).", examples=["/run/secrets/fernet_key"]
    )
    fernet_previous_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Older Fernet keys, still accepted for reading while `outreach keys rotate` re-encrypts.",
        examples=[["<the previous fernet_key>"]],
    )
    fernet_previous_keys_file: Path | None = Field(
        None,
        description="File with older Fernet keys, one per line (mode 0600).",
        examples=["/run/secrets/fernet_previous_keys"],
    )
    sites_dir: Path = Field(Path("config/sites"), description="Folder with one YAML file per ad site.")
    templates_dir: Path = Field(Path("templates"), description="Folder with the message templates.")
    log_dir: Path = Field(Path("var/log"), description="Folder for crawl logs.")
    languages: list[str] = Field(
        ["nl", "en", "ro", "bg", "pl", "es", "pt", "hu", "nl-en"],
        description="Languages with a message template; others use the fallback.",
    )
    fallback_language: str = Field(
        "nl-en", description="Template used when the advert is mixed, unclear or in a language without template."
    )
    default_region: str = Field("NL", description="Region for numbers written without a country code.")
    mobile_countries: list[str] = Field(
        ["NL", "BE", "DE", "PL", "RO", "BG", "HU", "ES", "PT", "FR", "IT", "AL"],
        description="Countries whose mobile numbers may be messaged.",
    )
    recontact_days: int = Field(180, ge=1, description="Nobody is contacted twice within this many days.")
    dry_run: bool = Field(False, description="Do everything but call the provider; marked in the log.")
    actor: str = Field(
        "", description="Who runs commands, for the audit log (default: the OS user).", examples=["scheduler"]
    )
    organisation: OrganisationSettings = OrganisationSettings()
    twilio: TwilioSettings = TwilioSettings()
    sending: SendingSettings = SendingSettings()
    whatsapp: WhatsAppSettings = WhatsAppSettings()
    web: WebSettings = WebSettings()
    notify: NotifySettings = NotifySettings()
    cases: CaseSettings = CaseSettings()
    crawl: CrawlSettings = CrawlSettings()
    retention: RetentionSettings = RetentionSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    language: LanguageSettings = LanguageSettings()
    templates: TemplateSettings = TemplateSettings()
    targeting: TargetingSettings = TargetingSettings()
    organisations: list[MemberOrganisation] = Field(
        default_factory=list,
        description="Several organisations under one umbrella (README, Several organisations); empty: one, "
        "`organisation`.",
        examples=[
            [
                {
                    "key": "rotterdam",
                    "name": "Hulp Rotterdam",
                    "fieldworker": "Sanne",
                    "municipalities": ["Rotterdam"],
                    "from_number": "+15555550102",
                    "members": ["alice"],
                    "cycle_cron": "*/30 9-21 * * *",
                }
            ]
        ],
    )
    umbrella_supervisors: list[str] = Field(
        default_factory=list,
        description="Actors who see every organisation's data (with organisations).",
        examples=[["bob"]],
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))

    @model_validator(mode="before")
    @classmethod
    def _no_supervisors_list(cls, data: Any) -> Any:
        # The one list of supervisors is the users table (README, "Users and supervisors"): a second list here
        # could only disagree with it.
        if isinstance(data, dict) and "supervisors" in data:
            raise ValueError(
                "supervisors: no longer a setting; supervisors are the dashboard users with role supervisor "
                "(outreach user add NAME --role supervisor, or outreach user role NAME supervisor)"
            )
        return data

    @field_validator("languages", "mobile_countries")
    @classmethod
    def _not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must name at least one")
        return value

    @model_validator(mode="after")
    def _keys_from_files(self) -> Settings:
        if self.hmac_key is None and self.hmac_key_file is not None:
            self.hmac_key = SecretStr(read_secret_file(self.hmac_key_file, "hmac_key_file"))
        if self.fernet_key is None and self.fernet_key_file is not None:
            self.fernet_key = SecretStr(read_secret_file(self.fernet_key_file, "fernet_key_file"))
        if not self.fernet_previous_keys and self.fernet_previous_keys_file is not None:
            text = read_secret_file(self.fernet_previous_keys_file, "fernet_previous_keys_file")
            self.fernet_previous_keys = [SecretStr(line.strip()) for line in text.splitlines() if line.strip()]
        if self.retention.contact_days < self.recontact_days:
            raise ValueError("retention.contact_days must be at least recontact_days")
        if self.targeting.reminder.after_days >= self.recontact_days:
            raise ValueError("targeting.reminder.after_days must be less than recontact_days")
        self._check_organisations()
        if self.fallback_language not in self.languages:
            raise ValueError(f"fallback_language {self.fallback_language!r} is not one of languages")
        return self

    def _check_organisations(self) -> None:
        if not self.organisations:
            return
        if self.targeting.municipalities:
            raise ValueError("with organisations, each organisation's municipalities replace targeting.municipalities")
        keys: set[str] = set()
        served: dict[str, str] = {}
        for unit in self.organisations:
            if unit.key in keys:
                raise ValueError(f"organisations: key {unit.key!r} is used twice")
            keys.add(unit.key)
            for place in unit.municipalities:
                other = served.setdefault(place.casefold(), unit.key)
                if other != unit.key:
                    raise ValueError(f"organisations: {place} is served by both {other} and {unit.key}")

    def member_organisation(self, key: str | None) -> MemberOrganisation | None:
        return next((unit for unit in self.organisations if unit.key == key), None) if key else None

    def signature(self, key: str | None) -> OrganisationSettings:
        """Who signs a message of this organisation (the single `organisation` without organisations)."""
        unit = self.member_organisation(key)
        return unit.signature(self.organisation.stop_keyword) if unit else self.organisation

    def require_organisation(self, key: str) -> MemberOrganisation:
        """The organisation with this key; a configuration error naming the known ones otherwise."""
        unit = self.member_organisation(key)
        if unit is None:
            known = ", ".join(u.key for u in self.organisations) or "none configured"
            raise ConfigError(f"unknown organisation {key!r} (organisations: {known})")
        return unit

    def sending_for(self, key: str | None) -> SendingSettings:
        """The send policy of one organisation's cycle: its own window where it has one, the rest shared."""
        unit = self.member_organisation(key)
        if unit is None:
            return self.sending
        own = {"window_start": unit.window_start, "window_end": unit.window_end}
        return self.sending.model_copy(update={name: value for name, value in own.items() if value is not None})

    def for_child(self) -> str:
        """Serialise for a child process (sent on its stdin, so secrets stay out of argv and environ)."""
        data = self.model_dump(mode="json", exclude={"hmac_key_file", "fernet_key_file", "fernet_previous_keys_file"})
        data["hmac_key"] = self.hmac_key.get_secret_value() if self.hmac_key else None
        data["fernet_key"] = self.fernet_key.get_secret_value() if self.fernet_key else None
        data["fernet_previous_keys"] = [key.get_secret_value() for key in self.fernet_previous_keys]
        token = self.twilio.auth_token
        data["twilio"]["auth_token"] = token.get_secret_value() if token else None
        data["twilio"].pop("auth_token_file", None)
        return yaml.safe_dump(data)


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """A YAML error in one line: what and where."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem} (line {mark.line + 1})" if mark is not None else problem


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "settings"
    return f"setting {where}: {first['msg']}"


# Settings that are secrets when written into the settings file itself (the *_file settings are checked on read).
INLINE_SECRETS = (("hmac_key",), ("fernet_key",), ("fernet_previous_keys",), ("twilio", "auth_token"))


def refuse_exposed_secrets(path: Path, data: object) -> None:
    """A settings file that holds a key or token inline must be as private as a key file (read_secret_file)."""
    if not path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        return
    for names in INLINE_SECRETS:
        value: object = data
        for name in names:
            value = value.get(name) if isinstance(value, dict) else None
        if value:
            setting = ".".join(names)
            raise ConfigError(
                f"config file {path}: holds {setting} and is readable by others; run: chmod 600 {path} "
                f"(or move the secret to {setting}_file or the environment)"
            )


@functools.lru_cache(maxsize=32)
def _settings_reading(path: Path) -> type[Settings]:
    """Settings that read `path`: a subclass, since pydantic-settings takes the YAML file from the class's
    model_config. One per file, made once: each new class costs pydantic about 150 KB of validator and serializer
    outside Python's allocator and hundreds of Python objects in reference cycles, which only a full garbage
    collection frees, and a long-running scheduler loads its settings in every job, where such collections are
    rare (bench/scheduler_day.py: +0.16 MB per cycle)."""
    return type("Settings", (Settings,), {"model_config": {**Settings.model_config, "yaml_file": path}})


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings; any problem becomes one ConfigError naming the setting."""
    path = config_file or Path(os.environ.get("OUTREACH_CONFIG", DEFAULT_CONFIG_FILE))
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"config file {config_file} does not exist")
    try:
        if path.is_file():
            refuse_exposed_secrets(path, yaml.safe_load(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path}: not valid YAML: {describe_yaml_error(exc)}") from exc
    try:
        settings: Settings = _settings_reading(path)(**overrides)
        return settings
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc


def load_child_settings(text: str) -> Settings:
    """The inverse of Settings.for_child: no file, no environment, exactly what the parent had."""
    data = yaml.safe_load(text)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
