# outreach: the CLI, the scheduler and the web app (`outreach serve`), from the pinned runtime lock.
# docker-compose.yml runs it three ways: `db upgrade` once, `serve`, `scheduler`. See docs/operations.md.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Debian's chromium serves scrapy-playwright for JavaScript sites (`playwright install` is not used); Pango is for
# WeasyPrint (`outreach report`). Not pinned:
# bookworm's security updates replace the exact version, and a pin would break the build the day they do.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --gid 10001 outreach \
    && useradd --uid 10001 --gid 10001 --create-home outreach
WORKDIR /app

COPY requirements/runtime.lock requirements/runtime.lock
RUN pip install --no-cache-dir -r requirements/runtime.lock

COPY pyproject.toml README.md ./
COPY outreach outreach
COPY crawler crawler
COPY messaging messaging
COPY migrations migrations
COPY templates templates
COPY config config
# The test world (fixture site, Twilio test gateway) lets `outreach demo` run inside the image.
COPY testworld testworld
# Editable, so the code finds migrations/ and templates/ beside it in /app. var/ holds SQLite and crawl logs.
# The dashboard's Dutch catalog is compiled here from its .po file (compiled catalogs are not in git).
RUN pip install --no-cache-dir --no-deps -e . \
    && pybabel compile -d outreach/web/locale \
    && mkdir -p /app/var/log \
    && chown -R 10001:10001 /app/var

# Numeric, so Kubernetes' runAsNonRoot and the host's file owners agree without a passwd lookup.
USER 10001:10001
# Keys, database URL and Twilio credentials come from the environment (.env) or mounted key files, never the image.
# The check follows web.port from the settings; it only makes sense for `serve` (compose disables it elsewhere).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-m", "outreach.support.healthcheck"]
ENTRYPOINT ["outreach"]
CMD ["--help"]
