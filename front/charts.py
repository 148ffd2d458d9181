"""Stacked bar charts as inline SVG, drawn on the server: no script, no library to load,
readable without JavaScript, and every bar has a title (its exact figures) for a pointer
or a screen reader."""

from __future__ import annotations

from dataclasses import dataclass

from connections.usage import Daily

WIDTH, HEIGHT, GAP = 600, 160, 2
PALETTE = ("#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#6b7280")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    legend: list[tuple[str, str, int]]  # (name, color, total)
    peak: int
    first_day: str
    last_day: str
    total: int
    width: int = WIDTH
    height: int = HEIGHT


def stacked(daily: Daily, *, title: str) -> Chart:
    peak = max((sum(s.values[i] for s in daily.series) for i in range(len(daily.days))), default=0)
    slot = WIDTH / max(1, len(daily.days))
    bars = []
    for i, day in enumerate(daily.days):
        top = float(HEIGHT)
        for n, series in enumerate(daily.series):
            value = series.values[i]
            if not value:
                continue
            height = HEIGHT * value / peak if peak else 0
            top -= height
            bars.append(
                Bar(
                    x=round(i * slot + GAP / 2, 2),
                    y=round(top, 2),
                    width=round(max(1.0, slot - GAP), 2),
                    height=round(max(0.5, height), 2),
                    color=PALETTE[n % len(PALETTE)],
                    title=f"{day:%b %d}: {series.name} {value:,}",
                )
            )
    legend = [(s.name, PALETTE[n % len(PALETTE)], s.total) for n, s in enumerate(daily.series)]
    return Chart(
        title=title,
        bars=bars,
        legend=legend,
        peak=peak,
        first_day=f"{daily.days[0]:%b %d}" if daily.days else "",
        last_day=f"{daily.days[-1]:%b %d}" if daily.days else "",
        total=daily.total,
    )
