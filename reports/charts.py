"""Chart geometry for inline SVG: Python computes coordinates, template macros only draw them.

Tiny on purpose: sparklines, stacked columns, heat cells and a time axis are all the
reports need, and a charting library would bring JavaScript or a PNG renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orderprobe.base.taxonomy import LOOK

# One colour per cause category: from the one table in orderprobe.base.taxonomy.
CAUSE_COLOURS = {c.value: look.colour for c, look in LOOK.items()}


@dataclass
class Spark:
    width: int
    height: int
    lines: list[str]  # polyline "x,y x,y" segments (gaps where a bucket had no data)
    dots: list[tuple[float, float]]  # lone points between gaps
    last: float | None  # last value, to print beside the line


def spark(values: list[float | None], vmax: float, width: int = 160, height: int = 28) -> Spark:
    """A sparkline of ``values`` on a shared scale ``0..vmax`` (None = no data → gap)."""
    segments: list[list[tuple[float, float]]] = [[]]
    n = max(len(values) - 1, 1)
    top = vmax or 1.0
    for i, v in enumerate(values):
        if v is None:
            segments.append([])
            continue
        y = height - 2 - (height - 4) * min(v / top, 1.0)
        segments[-1].append((round(i * width / n, 1), round(y, 1)))
    lines = [" ".join(f"{x},{y}" for x, y in seg) for seg in segments if len(seg) > 1]
    dots = [seg[0] for seg in segments if len(seg) == 1]
    last = next((v for v in reversed(values) if v is not None), None)
    return Spark(width, height, lines, dots, last)


@dataclass
class Rect:
    x: float
    y: float
    w: float
    h: float
    colour: str
    title: str


@dataclass
class Columns:
    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    vmax: int = 0
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (x, label) along the time axis
    # The same columns for HTML drawing at any width: per bucket, (height % of the plot, colour, title)
    # from the bottom up; the count axis as (% from the bottom, label); time ticks as (% from the left, label).
    stacks: list[list[tuple[float, str, str]]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)


def stacked_columns(
    series: dict[str, list[int]],
    labels: list[str],
    names: dict[str, str] | None = None,
    width: int = 880,
    height: int = 160,
) -> Columns:
    """Columns per time bucket, stacked by category (``series[category][bucket] = count``);
    ``names`` gives each category's label in the page's language."""
    names = names or {}
    buckets = len(labels)
    totals = [sum(s[i] for s in series.values()) for i in range(buckets)]
    vmax = max(totals, default=0)
    chart = Columns(width, height, vmax=vmax, ticks=axis_ticks(labels, width), x_ticks=axis_ticks(labels, 100, 4))
    if not buckets or not vmax:
        return chart
    top = count_top(vmax)
    chart.y_ticks = [(round(k / top * 100, 2), str(k)) for k in sorted({0, top // 2, top}) if k or top]
    slot = width / buckets
    for i in range(buckets):
        y = float(height)
        stack = []
        for category, counts in series.items():
            if counts[i]:
                h = counts[i] / vmax * (height - 4)
                y -= h
                title = f"{labels[i]} · {names.get(category, category)}: {counts[i]}"
                colour = CAUSE_COLOURS.get(category, "#9ca3af")
                chart.rects.append(
                    Rect(round(i * slot + 1, 1), round(y, 1), round(slot - 2, 1), round(h, 1), colour, title)
                )
                stack.append((round(counts[i] / top * 100, 2), colour, title))
        chart.stacks.append(stack)
    return chart


def count_top(vmax: int) -> int:
    """The count axis' top: ``vmax`` rounded up to an even number (so the middle tick is whole)."""
    return max(2, vmax + vmax % 2)


def axis_ticks(labels: list[str], width: int, count: int = 6) -> list[tuple[float, str]]:
    if not labels:
        return []
    step = max(1, len(labels) // count)
    slot = width / len(labels)
    # The last label would run past the right edge: stop at ~88% of the width.
    return [(round(i * slot, 1), labels[i]) for i in range(0, len(labels), step) if i * slot <= width * 0.88]


NICE_STEPS_MS = (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000)


def nice_step(span_ms: float, most: int = 6) -> float:
    """The smallest round tick step that puts at most ``most`` ticks on ``span_ms``."""
    return next((s for s in NICE_STEPS_MS if span_ms / s <= most), NICE_STEPS_MS[-1])


def ms_label(ms: float) -> str:
    return f"{ms / 1000:g} s" if ms >= 1000 or ms == 0 else f"{ms:g} ms"


def time_ticks(total_ms: float, most: int = 6) -> list[tuple[float, str]]:
    """Ticks of a 0..total_ms time axis: (% of the width, "1.5 s")."""
    step = nice_step(total_ms, most)
    count = int(total_ms // step)
    return [(round(i * step / total_ms * 100, 2), ms_label(i * step)) for i in range(count + 1)]


def heat_class(availability: float | None) -> str:
    """CSS class of an availability cell: full, minor dip, major dip, down, no data."""
    if availability is None:
        return "h-none"
    if availability >= 0.999:
        return "h-ok"
    if availability >= 0.95:
        return "h-minor"
    if availability >= 0.5:
        return "h-major"
    return "h-down"


@dataclass
class LineChart:
    """A small time-series chart with both axes: ``lines[name]`` as Spark geometry inside the plot area."""

    width: int
    height: int
    left: int  # plot area offset (room for the y labels)
    plot_w: int
    plot_h: int
    series: list[tuple[str, Spark]]
    y_ticks: list[tuple[float, str]]  # (y, label)
    x_ticks: list[tuple[float, str]]  # (x, label)


def line_chart(
    series: dict[str, list[float | None]], labels: list[str], width: int = 320, height: int = 132, ticks: int = 3
) -> LineChart:
    """Lines of milliseconds over time buckets on one 0..nice-max scale, labelled in seconds."""
    left, bottom, top = 40, 18, 6
    plot_w, plot_h = width - left - 6, height - bottom - top
    peak = max((v for vs in series.values() for v in vs if v is not None), default=0.0)
    step = nice_step(peak or 1.0, ticks)
    vmax = step * max(1, -(-peak // step))  # round the top up to a whole tick
    # Same mapping as spark(): 2 px of air at the top and bottom of the plot.
    y_ticks = [
        (round(top + plot_h - 2 - (plot_h - 4) * k * step / vmax, 1), ms_label(k * step))
        for k in range(int(vmax // step) + 1)
    ]
    lines = [(name, spark(values, vmax, plot_w, plot_h)) for name, values in series.items()]
    n = len(labels)
    every = max(1, -(-n // 3))
    x_ticks = [(round(left + i * plot_w / max(n - 1, 1), 1), labels[i]) for i in range(0, n, every)]
    return LineChart(width, height, left, plot_w, plot_h, lines, y_ticks, x_ticks)
