"""Prometheus metrics of the writer, read from the loop's own counters at scrape time.

Counting in plain attributes and exporting them through a custom collector keeps the per-row cost at an
integer add; only the write latency is a real Histogram (one observation per row or batch).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from writer.loop import WriteLoop

_LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


class WriterMetrics:
    """The registry served on /metrics. ``attach(loop)`` once the loop exists (before that: zeros)."""

    def __init__(self, topic: str):
        self.topic = topic
        self.loop: WriteLoop | None = None
        self.registry = CollectorRegistry()
        self.latency = Histogram("writer_write_latency_seconds", "Latency of one write (a row or a batch of rows)",
                                 ["topic"], buckets=_LATENCY_BUCKETS, registry=self.registry).labels(topic)
        self.registry.register(self)

    def attach(self, loop: WriteLoop) -> None:
        self.loop = loop

    def describe(self) -> list[Metric]:
        return []  # metrics are only known at collect time; an empty describe skips a collect at register

    def collect(self) -> Iterator[Metric]:
        loop, topic = self.loop, self.topic
        rows = CounterMetricFamily("writer_rows_written", "Rows acknowledged by Cassandra", labels=["topic"])
        retries = CounterMetricFamily("writer_retries", "Writes re-issued after a failure, by error class",
                                      labels=["topic", "error"])
        outage = CounterMetricFamily("writer_outage_seconds", "Seconds spent with no write succeeding",
                                     labels=["topic"])
        last_seq = GaugeMetricFamily("writer_last_seq", "Highest last_seq stored in Cassandra", labels=["topic"])
        watermark = GaugeMetricFamily("writer_watermark_seq", "Highest seq with every seq below it acknowledged",
                                      labels=["topic"])
        in_flight = GaugeMetricFamily("writer_in_flight", "Writes awaiting an answer", labels=["topic"])
        outstanding = GaugeMetricFamily(
            "writer_requests_outstanding", "Writes the driver holds: awaited, or re-sent after the request "
            "timeout while the first attempt may still answer (each may have one speculative copy)", labels=["topic"])
        peak = GaugeMetricFamily("writer_requests_outstanding_peak",
                                 "Highest writer_requests_outstanding since the writer started", labels=["topic"])
        late = CounterMetricFamily("writer_late_acks", "Writes acknowledged after they had been counted as failed",
                                   labels=["topic"])
        rebuilds = CounterMetricFamily("writer_session_rebuilds", "Sessions rebuilt from re-resolved seeds",
                                       labels=["topic"])
        if loop is not None:
            rows.add_metric([topic], loop.rows_written)
            for error, count in sorted(loop.errors.copy().items()):
                retries.add_metric([topic, error], count)
            outage.add_metric([topic], loop.outage_total())
            last_seq.add_metric([topic], loop.stored)
            watermark.add_metric([topic], loop.watermark.value)
            in_flight.add_metric([topic], loop.in_flight)
            outstanding.add_metric([topic], loop.outstanding)
            peak.add_metric([topic], loop.outstanding_max)
            late.add_metric([topic], loop.late_acks)
            rebuilds.add_metric([topic], loop.rebuilds)
        yield from (rows, retries, outage, last_seq, watermark, in_flight, outstanding, peak, late, rebuilds)
