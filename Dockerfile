# wf: one image for every role — `wf serve` (the API), `wf worker`, `wf migrate`, `wf demo-agent`.
#
#   docker build -t wf .
#   docker compose up        (PostgreSQL, Kafka, the API, two workers and the demo agent)

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Build: install wf and its dependencies into a virtual environment (the runtime stage copies it).
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/wf
WORKDIR /src
COPY pyproject.toml README.md ./
COPY migrations ./migrations
COPY src ./src
RUN /opt/wf/bin/pip install . \
    && /opt/wf/bin/wf --version

# Runtime: the environment alone, run by an unprivileged user.
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/wf/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WF_HOST=0.0.0.0 \
    WF_PORT=8080 \
    WF_HEALTH_PORT=8090 \
    WF_LOG_FORMAT=json
RUN groupadd --system --gid 10001 wf \
    && useradd --system --uid 10001 --gid wf --home-dir /var/lib/wf --create-home --shell /usr/sbin/nologin wf
COPY --from=build /opt/wf /opt/wf
COPY deploy/healthcheck.py /opt/wf/healthcheck.py
WORKDIR /var/lib/wf
USER wf:wf
EXPOSE 8080
# Liveness of whichever role runs: a worker's health server (WF_HEALTH_PORT, 8090 unless set), else the API
# (WF_PORT).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/opt/wf/healthcheck.py"]
ENTRYPOINT ["wf"]
CMD ["serve"]
