"""OpenTelemetry: traces, metrics and logs exported over OTLP.

The collector address comes from OTEL_EXPORTER_OTLP_ENDPOINT (set in deploy/k8s/rollout.yaml).
Without it, telemetry stays off so tests and local runs need nothing.
"""

import logging
import os

from fastapi import FastAPI


def setup_telemetry(app: FastAPI, *, service_name: str) -> None:
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return
    from opentelemetry import metrics, trace
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.logging import LoggingInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        {"service.name": service_name, "service.namespace": "${{ values.team }}"}
    )
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(
        MeterProvider(
            resource=resource, metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())]
        )
    )
    # Log records carry trace and span ids, so logs and traces link up.
    LoggingInstrumentor().instrument(set_logging_format=True, log_level=logging.INFO)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz")
