"""The metrics the canary analysis (deploy/k8s/analysis.yaml) reads are the ones exported."""

from fastapi.testclient import TestClient
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from app.main import create_app
from app.telemetry import instrument


def test_requests_are_measured_with_status_code_in_seconds() -> None:
    reader = InMemoryMetricReader()
    service = create_app()
    instrument(service, meter_provider=MeterProvider(metric_readers=[reader]))
    client = TestClient(service)
    assert client.get("/").status_code == 200
    assert client.get("/no-such-page").status_code == 404
    client.get("/healthz")

    data = reader.get_metrics_data()
    assert data is not None
    metrics = {
        metric.name: metric
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    duration = metrics["http.server.request.duration"]
    assert duration.unit == "s"
    codes = sorted(p.attributes["http.response.status_code"] for p in duration.data.data_points)
    assert codes == [200, 404]  # the probes are not counted
