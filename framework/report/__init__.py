"""Run reports: one self-contained HTML page (plotly.js inlined, the data embedded as JSON).

`build_model(read_exports(RUN))` builds the report's model from a run's exports (an export
directory or one JSON file); `ReportBuilder` takes the same documents one day at a time
(`backtest --report`); `write_report(path, model)` renders it. See docs/report.md.
"""

from mismartera.report.model import (
    MAX_BARS,
    MAX_POINTS,
    ReportBuilder,
    ReportCollector,
    build_model,
    read_exports,
)
from mismartera.report.render import render, write_report

__all__ = ["MAX_BARS", "MAX_POINTS", "ReportBuilder", "ReportCollector", "build_model",
           "read_exports", "render", "write_report"]
