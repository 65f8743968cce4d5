# DAWG's cluster image: `dawg sync` (CronJob) and `dawg controller` (Deployment),
# non-root on a read-only root filesystem. Builds from a clean clone: the example
# generators are compiled in the first stage (toolchains from PyPI, Node for the
# JavaScript one), so nothing git-ignored is needed. The runtime stage installs the
# `cluster` extra only: no Pulumi packages in the image.
#
#   docker build -t registry.example.com/platform/dawg:0.1.0 .
#   docker push registry.example.com/platform/dawg:0.1.0
#   docker buildx imagetools inspect registry.example.com/platform/dawg:0.1.0   # the digest to pin

# -- stage 1: build the example generators -------------------------------------------------
FROM python:3.11-slim-bookworm AS generators
ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY dawg_provider ./dawg_provider
RUN pip install ".[dev]"
COPY wit ./wit
COPY generators ./generators
RUN python generators/build.py --dist /out

# -- stage 2: the runtime ------------------------------------------------------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DAWG_CACHE_DIR=/var/cache/dawg HOME=/tmp
WORKDIR /src
COPY pyproject.toml README.md ./
COPY dawg_provider ./dawg_provider
RUN pip install ".[cluster]" \
 && python -c "import importlib.util as u, sys; sys.exit(u.find_spec('pulumi') is not None)" \
 && rm -rf /src
COPY --from=generators /out /opt/dawg/generators
RUN mkdir -p /var/cache/dawg && chown 65532:65532 /var/cache/dawg
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["dawg"]
CMD ["sync"]
