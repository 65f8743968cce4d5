# The sync job's image: `dawg sync` as a non-root user on a read-only root filesystem.
# Build from the repository root after `bash scripts/setup.sh` (generators/dist is copied
# in, so file:///opt/dawg/generators/<name>.wasm works inside the cluster).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DAWG_CACHE_DIR=/var/cache/dawg HOME=/tmp

WORKDIR /src
COPY pyproject.toml README.md ./
COPY dawg_provider ./dawg_provider
RUN pip install ".[cluster]" && rm -rf /src
COPY generators/dist /opt/dawg/generators

RUN mkdir -p /var/cache/dawg && chown 65532:65532 /var/cache/dawg
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["dawg"]
CMD ["sync"]
