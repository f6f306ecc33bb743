"""One table of the region's dashboard (referrals.dashboard and the tables of the features
that add one, such as referrals.instruments_dashboard)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    """One table of the dashboard: the HTML table, its CSV and the data of its bar chart."""

    key: str
    title: Any
    header: list[Any]
    rows: list[list[Any]]
    #: the bar chart: (label, value) pairs, and what the value is
    chart: list[tuple[str, float]] = field(default_factory=list)
    chart_unit: Any = ""
    note: Any = ""
