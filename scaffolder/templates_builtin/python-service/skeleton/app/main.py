"""${{ values.name }}: ${{ values.description }}"""

from fastapi import FastAPI

from app.telemetry import setup_telemetry

SERVICE_NAME = "${{ values.name }}"
OWNER = "${{ values.team }}"


def create_app() -> FastAPI:
    """The service's routes, on a new application (tests build their own)."""
    service = FastAPI(title=SERVICE_NAME)

    @service.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process is up."""
        return {"status": "ok"}

    @service.get("/readyz")
    def readyz() -> dict[str, str]:
        """Readiness: add checks for the service's dependencies here."""
        return {"status": "ready"}

    @service.get("/")
    def index() -> dict[str, str]:
        return {"service": SERVICE_NAME, "owner": OWNER}

    return service


app = create_app()
setup_telemetry(app, service_name=SERVICE_NAME)
