# Paved: one image for the web server, the Celery workers and the scheduler (beat).
#   docker build -t paved .
#   docker run paved web | worker | beat | migrate | manage <command…>
# See docs/operations.md and deploy/kubernetes/.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PAVED_DATA_DIR=/var/lib/paved \
    PAVED_STATIC_ROOT=/app/staticfiles \
    PAVED_MANIFEST_STATIC=true \
    PAVED_PORT=8000 \
    PYTHONPATH=/app

# git: the scaffolder and the GitOps providers commit to repositories.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 paved \
 && useradd --system --uid 10001 --gid paved --home-dir /home/paved --create-home paved

WORKDIR /app

# Dependencies from pyproject.toml first (a cached layer while only the code changes). The
# project itself is then uninstalled: the code runs from /app, next to templates/ and static/.
COPY pyproject.toml README.md ./
COPY portal/__init__.py portal/__init__.py
RUN pip install --no-compile . && pip uninstall -y paved && rm -rf build *.egg-info

COPY . .
RUN mkdir -p "$PAVED_DATA_DIR" \
 && PAVED_SECRET_KEY=collectstatic-only PAVED_DATA_DIR=/tmp/paved-build \
    python manage.py collectstatic --no-input -v 0 \
 && rm -rf /tmp/paved-build \
 && chown -R paved:paved "$PAVED_DATA_DIR"

USER 10001:10001
VOLUME ["/var/lib/paved"]
EXPOSE 8000
ENTRYPOINT ["/app/bin/paved-container"]
CMD ["web"]
