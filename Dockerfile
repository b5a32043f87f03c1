# The xeem controller image.
#
#   docker build -t xeem-controller:latest .
#
# Two stages: the build stage installs xeem and its runtime dependencies (no dev extra)
# into a virtualenv; the final stage copies only that virtualenv onto a clean
# python:3.11-slim and runs it as the non-root user 65532. The image works with a
# read-only root filesystem (no bytecode is written at run time; /tmp is an emptyDir in
# config/manager/manager.yaml).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/xeem
WORKDIR /src
# Only what the package build reads (pyproject names README.md as the readme).
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/xeem/bin/pip install --upgrade pip \
    && /opt/xeem/bin/pip install . \
    && /opt/xeem/bin/xeem-controller --help > /dev/null

FROM python:3.11-slim
LABEL org.opencontainers.image.title="xeem-controller" \
      org.opencontainers.image.description="xeem: a Kubernetes-native workflow engine" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 65532 nonroot \
    && useradd --system --uid 65532 --gid 65532 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin nonroot
COPY --from=build /opt/xeem /opt/xeem
ENV PATH=/opt/xeem/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# Numeric, so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["xeem-controller"]
