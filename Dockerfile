# One image for every Helpdesk process: `helpdesk db upgrade`, `helpdesk web`, and later the
# worker, publisher and scheduler. Used by compose.yaml; build it alone with
#   docker build -t helpdesk:local .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first (a layer that survives code changes). The package is installed in
# editable mode on purpose: the app finds templates/, static/, migrations/ and alembic.ini next
# to its source tree (helpdesk.config.PROJECT_ROOT = two levels above src/helpdesk/), which a
# plain `pip install .` into site-packages would break. The editable .pth points at /app/src,
# so the real source copied below is what runs.
COPY pyproject.toml ./
RUN mkdir -p src/helpdesk \
 && touch src/helpdesk/__init__.py \
 && pip install -e . \
 && rm -rf src

COPY alembic.ini ./
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
COPY src ./src

# Run as an unprivileged user. /app/var is the only place the app writes to: var/secret_key when
# SECRET_KEY is unset, and var/attachments when STORAGE_URL is left at its file:// default.
RUN useradd --system --user-group --uid 10001 --home-dir /app --no-create-home helpdesk \
 && mkdir -p /app/var \
 && chown helpdesk:helpdesk /app/var
USER helpdesk

EXPOSE 8000
CMD ["helpdesk", "web", "--host", "0.0.0.0", "--port", "8000"]
