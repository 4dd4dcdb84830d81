"""OpenTelemetry: traces, metrics and logs exported over OTLP.

The collector address comes from OTEL_EXPORTER_OTLP_ENDPOINT (set in deploy/k8s/rollout.yaml).
Without it, telemetry stays off so tests and local runs need nothing.

The canary analysis (deploy/k8s/analysis.yaml) reads the HTTP server histogram
`http.server.request.duration` (seconds, with `http.response.status_code`), which Prometheus
stores as `http_server_request_duration_seconds_*`; tests/test_telemetry.py keeps that promise.
"""

import logging
import os

from fastapi import FastAPI
from opentelemetry.metrics import MeterProvider

SERVICE_NAMESPACE = "${{ values.team }}"
# The stable HTTP semantic conventions: the metric names and units the canary analysis queries.
os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")


def instrument(app: FastAPI, *, meter_provider: MeterProvider | None = None) -> None:
    """Measure every request except the probes (they would dilute the success rate)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="healthz,readyz", meter_provider=meter_provider
    )


def setup_telemetry(app: FastAPI, *, service_name: str) -> None:
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return
    from opentelemetry import metrics, trace
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.logging import LoggingInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_RESOURCE_ATTRIBUTES (the pod, its namespace and its Rollout revision) is merged in.
    attributes = {"service.name": service_name, "service.namespace": SERVICE_NAMESPACE}
    resource = Resource.create(attributes)
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    metrics.set_meter_provider(SdkMeterProvider(resource=resource, metric_readers=[reader]))
    # Log records carry trace and span ids, so logs and traces link up.
    LoggingInstrumentor().instrument(set_logging_format=True, log_level=logging.INFO)
    instrument(app)
