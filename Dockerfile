# syntax=docker/dockerfile:1
# Build: docker build -t eam .
# Migrate (a separate step): docker run --rm -e EAM_ENV=production -e EAM_DATABASE_URL=... eam eam migrate
# Serve:                     docker run -p 8000:8000 -e EAM_ENV=production -e EAM_DATABASE_URL=... eam
# Secrets (EAM_KEY_ENCRYPTION_KEY, EAM_OIDC_PROVIDERS, ...) come from the environment at run time, never from the image.
# The package is built as a wheel and installed like any other: its policies and migrations are package data.

FROM python:3.11.7-slim-bookworm AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY eam ./eam
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && pip install --no-cache-dir /wheels/eam-*.whl

FROM python:3.11.7-slim-bookworm
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin eam
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    EAM_HOST=0.0.0.0 \
    EAM_PORT=8000
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=2).status == 200 else 1)"]
# On SIGTERM, in-flight requests get EAM_SHUTDOWN_GRACE_SECONDS (20) to finish: stop with `docker stop -t 25` (default 10 s).
STOPSIGNAL SIGTERM
CMD ["eam", "serve", "--no-migrate"]
