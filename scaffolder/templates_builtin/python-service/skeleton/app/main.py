"""${{ values.name }}: ${{ values.description }}"""

from fastapi import FastAPI

from app.telemetry import setup_telemetry

app = FastAPI(title="${{ values.name }}")
setup_telemetry(app, service_name="${{ values.name }}")


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process is up."""
    return {"status": "ok"}


@app.get("/readyz")
def readyz() -> dict[str, str]:
    """Readiness: add checks for the service's dependencies here."""
    return {"status": "ready"}


@app.get("/")
def index() -> dict[str, str]:
    return {"service": "${{ values.name }}", "owner": "${{ values.team }}"}
