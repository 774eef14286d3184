# sla-connector container image: the daemon as a non-root user, with a health check.
#   docker build -t sla-connector .
#   docker run -v $PWD/config.yaml:/etc/sla-connector/config.yaml:ro \
#       -v sla-state:/var/lib/sla-connector --env-file sla.env -p 8321:8321 \
#       --stop-timeout 30 sla-connector
# The configuration must bind the dashboard to 0.0.0.0 for -p to reach it (set
# dashboard.token_env then); the health check itself runs inside the container.
# docs/operations.md describes the volumes, variables and signals.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
COPY connectors ./connectors
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[postgres]'

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# WeasyPrint's system libraries, for the clients' PDF evidence packs (docs/operations.md).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libfontconfig1 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels 'sla-connector[postgres]' \
    && rm -rf /wheels \
    && groupadd --system --gid 10001 sla \
    && useradd --system --uid 10001 --gid sla --home-dir /var/lib/sla-connector \
       --create-home --shell /usr/sbin/nologin sla \
    && mkdir -p /etc/sla-connector
COPY deploy/healthcheck.py /usr/local/lib/sla-connector/healthcheck.py
USER 10001:10001
WORKDIR /var/lib/sla-connector
VOLUME ["/var/lib/sla-connector"]
EXPOSE 8321
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/usr/local/lib/sla-connector/healthcheck.py"]
ENTRYPOINT ["sla-connector"]
CMD ["run", "-c", "/etc/sla-connector/config.yaml"]
