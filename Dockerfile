# outreach: the CLI, the scheduler and the web app (`outreach serve`), from the pinned runtime lock.
# docker-compose.yml runs it three ways: `db upgrade` once, `serve`, `scheduler`. See docs/operations.md.
# Build with Docker, or with buildah/podman and `--format docker` (their default OCI format drops the HEALTHCHECK).
# PYTHON_IMAGE: scripts/image-check passes a stand-in where no registry is reachable. WITH_BROWSER=false leaves
# chromium out (1.0 GB of 2.1 GB) for organisations without JavaScript sites: `config check` then refuses a site
# with needs_browser: true. `make image-check` builds and runs it (docs/operations.md, "The image").
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Pango is for WeasyPrint (`outreach report`); Playwright's bundled node driver needs libatomic1, which python-slim
# lacks (without it no JavaScript site is crawled). Debian packages are not pinned: bookworm's security updates
# replace the exact version, and a pin would break the build the day they do.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libatomic1 libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --gid 10001 outreach \
    && useradd --uid 10001 --gid 10001 --create-home outreach
WORKDIR /app

COPY requirements/runtime.lock requirements/runtime.lock
RUN pip install --no-cache-dir -r requirements/runtime.lock

# Debian's chromium serves scrapy-playwright for JavaScript sites (`playwright install` would download a browser).
# After the packages, so that both variants share every layer below this one.
ARG WITH_BROWSER=true
# hadolint ignore=DL3008
RUN if [ "$WITH_BROWSER" = true ]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends chromium \
        && rm -rf /var/lib/apt/lists/*; \
    fi

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
