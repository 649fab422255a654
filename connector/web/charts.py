"""Charts as server-rendered SVG: no script, no external asset; colours come from the stylesheet's classes.

Each chart has a title and a text description for screen readers; the pages also show the numbers as tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from markupsafe import Markup, escape

WIDTH = 640
_PAD_LEFT, _PAD_RIGHT, _PAD_TOP, _PAD_BOTTOM = 48, 16, 16, 40


def _svg(title: str, desc: str, height: int, body: list[str], ident: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{ident}-title">{escape(title)}</title><desc id="{ident}-desc">{escape(desc)}</desc>'
        + "".join(body) + "</svg>")


def _words(name: str) -> str:
    return name.replace("_", " ")


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def nice_ticks(maximum: float, *, whole: bool = False, count: int = 4) -> list[float]:
    """Axis ticks from 0 in a round step (1, 2, 2.5 or 5 times a power of ten) covering ``maximum`` in about
    ``count`` steps: ``0, 5k, 10k, 15k`` rather than ``0, 6176, 12352``. ``whole``: counts, so the step is a
    whole number (never ``0, 0.5, 1``)."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    power = 10 ** math.floor(math.log10(raw))
    factors = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(float(f * power) for f in factors if raw <= f * power + 1e-12)
    if whole:
        step = max(1.0, round(step))
    steps = max(1, math.ceil(maximum / step - 1e-9))
    return [round(i * step, 10) for i in range(steps + 1)]


def fit_hours(values: Sequence[float | None]) -> tuple[float, str]:
    """(factor, unit) so durations given in hours read in a unit fitting their range: minutes under an hour,
    days past three days; hours otherwise."""
    top = max((v for v in values if v is not None), default=0.0)
    if top < 1:
        return 60.0, " min"
    if top > 72:
        return 1 / 24, " d"
    return 1.0, " h"


def _y_axis(ticks: Sequence[float], height: int, unit: str) -> list[str]:
    plot_bottom = height - _PAD_BOTTOM
    top = ticks[-1]
    out = []
    for value in ticks:
        y = plot_bottom - (plot_bottom - _PAD_TOP) * value / top
        out.append(f'<line class="grid" x1="{_PAD_LEFT}" x2="{WIDTH - _PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="tick" x="{_PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                   f'{_number(value)}{escape(unit)}</text>')
    return out


def line_chart(ident: str, title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]],
               unit: str = "") -> Markup:
    """Lines over periods; a missing value breaks the line. Series names are CSS classes (``s-<name>``)."""
    height = 260
    values = [v for vs in series.values() for v in vs if v is not None]
    if not labels or not values:
        return _svg(title, "No decisions yet.", 80, [
            f'<text class="empty" x="{WIDTH / 2}" y="44" text-anchor="middle">No decisions yet</text>'], ident)
    ticks = nice_ticks(max(values))
    top = ticks[-1]
    plot_w = WIDTH - _PAD_LEFT - _PAD_RIGHT
    plot_bottom = height - _PAD_BOTTOM
    step = plot_w / max(1, len(labels) - 1) if len(labels) > 1 else 0

    def x(i: int) -> float:
        return _PAD_LEFT + (i * step if len(labels) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return plot_bottom - (plot_bottom - _PAD_TOP) * v / top

    body = _y_axis(ticks, height, unit) + _x_labels(labels, x, plot_bottom)
    for name, vs in series.items():
        body += _line(name, vs, labels, x, y, unit)
    desc = "; ".join(f"{name}: " + ", ".join(f"{lbl} {_number(v)}{unit}" for lbl, v in zip(labels, vs, strict=True)
                                             if v is not None) for name, vs in series.items())
    return _svg(title, desc, height, body, ident)


def _x_labels(labels: Sequence[str], x: Callable[[int], float], plot_bottom: int) -> list[str]:
    """At most about eight period labels under the plot, the last one always."""
    every = max(1, math.ceil(len(labels) / 8))
    return [f'<text class="tick" x="{x(i):.1f}" y="{plot_bottom + 18}" text-anchor="middle">{escape(label)}</text>'
            for i, label in enumerate(labels) if i % every == 0 or i == len(labels) - 1]


def _line(name: str, values: Sequence[float | None], labels: Sequence[str], x: Callable[[int], float],
          y: Callable[[float], float], unit: str) -> list[str]:
    """One series: a dot per value (with its figure as a tooltip) and a polyline per unbroken run of values."""
    out: list[str] = []
    segment: list[str] = []
    for i, v in enumerate(values):
        if v is None:
            if len(segment) > 1:
                out.append(f'<polyline class="line s-{escape(name)}" points="{" ".join(segment)}"/>')
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(v):.1f}")
        out.append(f'<circle class="dot s-{escape(name)}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5">'
                   f'<title>{escape(name)} {escape(labels[i])}: {_number(v)}{escape(unit)}</title></circle>')
    if len(segment) > 1:
        out.append(f'<polyline class="line s-{escape(name)}" points="{" ".join(segment)}"/>')
    return out


def stacked_bars(ident: str, title: str, rows: Mapping[str, Mapping[str, int]], parts: Sequence[str]) -> Markup:
    """One horizontal bar per row, split into ``parts`` (CSS classes ``s-<part>``)."""
    if not rows:
        return _svg(title, "Nothing to show yet.", 80, [
            f'<text class="empty" x="{WIDTH / 2}" y="44" text-anchor="middle">Nothing to show yet</text>'], ident)
    label_w, bar_h, gap = 150, 22, 10
    height = _PAD_TOP + len(rows) * (bar_h + gap) + 8
    top = max(sum(r.get(p, 0) for p in parts) for r in rows.values()) or 1
    plot_w = WIDTH - label_w - _PAD_RIGHT - 40
    body: list[str] = []
    for i, (label, counts) in enumerate(rows.items()):
        y = _PAD_TOP + i * (bar_h + gap)
        body.append(f'<text class="tick" x="{label_w - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end">'
                    f'{escape(label.replace("_", " "))}</text>')
        x = float(label_w)
        for part in parts:
            n = counts.get(part, 0)
            if not n:
                continue
            w = plot_w * n / top
            body.append(f'<rect class="bar s-{escape(part)}" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}">'
                        f'<title>{escape(_words(label))}, {escape(_words(part))}: {n}</title></rect>')
            x += w
        total = sum(counts.get(p, 0) for p in parts)
        body.append(f'<text class="value" x="{x + 6:.1f}" y="{y + bar_h * 0.7:.1f}">{total}</text>')
    desc = "; ".join(f"{_words(label)}: " + ", ".join(f"{_words(p)} {counts.get(p, 0)}" for p in parts)
                     for label, counts in rows.items())
    return _svg(title, desc, height, body, ident)


def bars(ident: str, title: str, items: Sequence[tuple[str, int, str]]) -> Markup:
    """Vertical bars: (label, value, CSS class)."""
    height = 220
    ticks = nice_ticks(max((v for _, v, _ in items), default=0), whole=True)
    top = ticks[-1]
    plot_w = WIDTH - _PAD_LEFT - _PAD_RIGHT
    plot_bottom = height - _PAD_BOTTOM
    slot = plot_w / max(1, len(items))
    every = max(1, math.ceil(len(items) / 8))  # at most about eight labels under the bars
    body = _y_axis(ticks, height, "")
    for i, (label, value, css) in enumerate(items):
        h = (plot_bottom - _PAD_TOP) * value / top
        x = _PAD_LEFT + i * slot + slot * 0.2
        body.append(f'<rect class="bar {escape(css)}" x="{x:.1f}" y="{plot_bottom - h:.1f}" width="{slot * 0.6:.1f}" '
                    f'height="{h:.1f}"><title>{escape(label)}: {value}</title></rect>')
        body.append(f'<text class="value" x="{x + slot * 0.3:.1f}" y="{plot_bottom - h - 6:.1f}" '
                    f'text-anchor="middle">{value}</text>')
        if i % every == 0 or i == len(items) - 1:
            body.append(f'<text class="tick" x="{x + slot * 0.3:.1f}" y="{plot_bottom + 18}" text-anchor="middle">'
                        f'{escape(label)}</text>')
    return _svg(title, ", ".join(f"{label} {value}" for label, value, _ in items), height, body, ident)


def share_bar(ident: str, title: str, part: int, whole: int, part_label: str, rest_label: str) -> Markup:
    """One bar split into a share and the rest (e.g. decided on time vs late)."""
    height = 84
    if not whole:
        return _svg(title, "Nothing decided yet.", height, [
            f'<text class="empty" x="{WIDTH / 2}" y="44" text-anchor="middle">Nothing decided yet</text>'], ident)
    plot_w = WIDTH - 32
    w = plot_w * part / whole
    share = part / whole
    body = [
        f'<rect class="bar s-on_time" x="16" y="16" width="{w:.1f}" height="28">'
        f'<title>{escape(part_label)}: {part}</title></rect>',
        f'<rect class="bar s-late" x="{16 + w:.1f}" y="16" width="{plot_w - w:.1f}" height="28">'
        f'<title>{escape(rest_label)}: {whole - part}</title></rect>',
        f'<text class="value" x="16" y="68">{share * 100:.0f}% {escape(part_label)} ({part} of {whole})</text>',
    ]
    return _svg(title, f"{part} of {whole} {part_label} ({share * 100:.0f}%); {whole - part} {rest_label}.",
                height, body, ident)
