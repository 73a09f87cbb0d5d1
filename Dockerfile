# One image for every Suyuan service (ingest worker, ingest API, trace query).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The printable labels (PDF/PNG) embed a Chinese TrueType font (docs/labels.md).
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY services ./services
COPY schemas ./schemas
COPY infra ./infra
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/suyuan suyuan \
    && mkdir -p /var/lib/suyuan && chown suyuan /var/lib/suyuan
USER suyuan
WORKDIR /var/lib/suyuan
ENTRYPOINT ["suyuan"]
