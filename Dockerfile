# outreach: the CLI, the scheduler and (later) the web app, from the pinned runtime lock.
FROM python:3.11-slim-bookworm

# Debian's chromium serves scrapy-playwright for JavaScript sites (`playwright install` is not used).
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 outreach
WORKDIR /app

COPY requirements/runtime.lock requirements/runtime.lock
RUN pip install --no-cache-dir -r requirements/runtime.lock

COPY pyproject.toml README.md alembic.ini* ./
COPY outreach outreach
COPY crawler crawler
COPY messaging messaging
COPY migrations migrations
COPY templates templates
COPY config config
COPY tests/__init__.py tests/__init__.py
COPY tests/world tests/world
# Editable, so the code finds migrations/ and templates/ beside it in /app.
RUN pip install --no-cache-dir --no-deps -e . && mkdir -p /app/var && chown outreach /app/var

USER outreach
# Keys, database URL and Twilio credentials come from the environment or mounted key files, never the image.
ENTRYPOINT ["outreach"]
CMD ["--help"]
