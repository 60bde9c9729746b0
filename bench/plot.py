"""The ack-latency plot as a hand-written SVG (no plotting library needed).

Top: a histogram of press → receipt latencies in logarithmic bins, ballots
and echo requests (or any other series: the matrix's combinations) side by
side. Bottom: their cumulative distributions on the same logarithmic axis,
with p50 and p99 marked.
"""

from __future__ import annotations

import math
from html import escape

WIDTH, HEIGHT = 960, 660
LEFT, RIGHT = 80, 30
HIST_TOP, HIST_BOTTOM = 115, 315
CDF_TOP, CDF_BOTTOM = 370, 600
COLORS = {"ballot": "#c0392b", "echo": "#2c7fb8"}
# Other series, in their order (colour-blind-safe: Okabe and Ito's palette).
PALETTE = ("#e69f00", "#56b4e9", "#009e73", "#d55e00", "#0072b2", "#cc79a7", "#000000", "#999999")
LEGEND_ROWS = 2  # the legend's rows that fit above the histogram; more push the plots down
BINS_PER_DECADE = 10


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ack_latency_svg(series: dict[str, list[float]], title: str, subtitle: str = "") -> str:
    """``series``: name → latencies in ms (names ``ballot`` and ``echo`` get fixed colours,
    the others ``PALETTE``'s in turn); returns the SVG document."""
    data = {name: sorted(v for v in values if v > 0) for name, values in series.items()}
    data = {name: values for name, values in data.items() if values}
    others = iter(PALETTE * (1 + len(data) // len(PALETTE)))
    colors = {name: COLORS.get(name) or next(others) for name in data}
    # Each legend row beyond LEGEND_ROWS moves everything below the legend down one row.
    down = 18 * max(0, len(data) - LEGEND_ROWS)
    height_all, hist_top, hist_bottom = HEIGHT + down, HIST_TOP + down, HIST_BOTTOM + down
    cdf_top, cdf_bottom = CDF_TOP + down, CDF_BOTTOM + down
    everything = [v for values in data.values() for v in values] or [1.0]
    lo = 10 ** math.floor(math.log10(max(min(everything), 0.01)))
    hi = 10 ** math.ceil(math.log10(max(everything) * 1.0001))
    if hi <= lo:
        hi = lo * 10
    span = math.log10(hi) - math.log10(lo)

    def x(ms: float) -> float:
        ms = min(max(ms, lo), hi)
        return LEFT + (math.log10(ms) - math.log10(lo)) / span * (WIDTH - LEFT - RIGHT)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height_all}" '
        f'viewBox="0 0 {WIDTH} {height_all}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height_all}" fill="white"/>',
        f'<text x="{LEFT}" y="24" font-size="16" font-weight="bold">{escape(title)}</text>',
        f'<text x="{LEFT}" y="44" fill="#555">{escape(subtitle)}</text>',
    ]

    # -- histogram: logarithmic bins, bars of each series side by side -------------------
    nbins = max(1, round(span * BINS_PER_DECADE))
    edges = [lo * 10 ** (i / BINS_PER_DECADE) for i in range(nbins + 1)]
    counts: dict[str, list[int]] = {}
    for name, values in data.items():
        c = [0] * nbins
        for v in values:
            i = int((math.log10(v) - math.log10(lo)) * BINS_PER_DECADE)
            c[min(max(i, 0), nbins - 1)] += 1
        counts[name] = c
    peak = max((max(c) for c in counts.values()), default=1) or 1
    height = hist_bottom - hist_top
    out.append(
        f'<text x="{LEFT - 60}" y="{hist_top - 12}" fill="#333">clients per bin '
        f"({BINS_PER_DECADE} bins per decade)</text>"
    )
    for k, (name, c) in enumerate(counts.items()):
        color = colors[name]
        for i, n in enumerate(c):
            if not n:
                continue
            x0, x1 = x(edges[i]), x(edges[i + 1])
            w = (x1 - x0) / max(1, len(counts))
            h = n / peak * height
            out.append(
                f'<rect x="{x0 + k * w:.1f}" y="{hist_bottom - h:.1f}" width="{max(w - 0.5, 0.5):.1f}" '
                f'height="{h:.1f}" fill="{color}" fill-opacity="0.75"><title>{escape(name)} '
                f"{edges[i]:.3g}–{edges[i + 1]:.3g} ms: {n}</title></rect>"
            )
    for frac in (0, 0.5, 1):
        y = hist_bottom - frac * height
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
            f"{round(frac * peak)}</text>"
        )
    out.append(_axis(hist_bottom, lo, hi, x, labels=False))

    # -- cumulative distribution --------------------------------------------------------
    height = cdf_bottom - cdf_top
    out.append(
        f'<text x="{LEFT - 60}" y="{cdf_top - 12}" fill="#333">share of clients acknowledged</text>'
    )
    for frac in (0, 0.25, 0.5, 0.75, 1):
        y = cdf_bottom - frac * height
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{frac:g}</text>'
        )
    legend_y = 56
    for k, (name, values) in enumerate(data.items()):
        color = colors[name]
        n = len(values)
        step = max(1, n // 800)
        points = [(x(values[0]), cdf_bottom)]
        for i in range(0, n, step):
            points.append((x(values[i]), cdf_bottom - (i + 1) / n * height))
        points.append((x(values[-1]), cdf_bottom - height))
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        p50, p99 = _quantile(values, 0.5), _quantile(values, 0.99)
        for q, v in (("p50", p50), ("p99", p99)):
            yy = cdf_bottom - (0.5 if q == "p50" else 0.99) * height
            out.append(f'<circle cx="{x(v):.1f}" cy="{yy:.1f}" r="3.5" fill="{color}"/>')
            if len(data) <= LEGEND_ROWS:  # more labels would overlap: the legend has them
                out.append(
                    f'<text x="{x(v) + 6:.1f}" y="{yy + 14 + 12 * k:.1f}" fill="{color}">'
                    f"{q} {v:,.1f} ms</text>"
                )
        lx = LEFT
        out.append(
            f'<rect x="{lx}" y="{legend_y + 18 * k}" width="14" height="10" fill="{color}"/>'
            f'<text x="{lx + 20}" y="{legend_y + 9 + 18 * k}">{escape(name)}: n={n:,}, '
            f"p50 {p50:,.1f} ms, p99 {p99:,.1f} ms, max {values[-1]:,.1f} ms</text>"
        )
    out.append(_axis(cdf_bottom, lo, hi, x, labels=True))
    out.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{cdf_bottom + 40}" text-anchor="middle" '
        f'fill="#333">press → receipt (ms, logarithmic)</text>'
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _axis(y: float, lo: float, hi: float, x, *, labels: bool) -> str:  # type: ignore[no-untyped-def]
    parts = [f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" stroke="#333"/>']
    decade = lo
    while decade <= hi * 1.0001:
        for m in (1, 2, 5):
            v = decade * m
            if v > hi * 1.0001:
                break
            px = x(v)
            parts.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{y}" y2="{y + 5}" stroke="#333"/>')
            if labels:
                parts.append(
                    f'<text x="{px:.1f}" y="{y + 18}" text-anchor="middle" fill="#333">{v:g}</text>'
                )
        decade *= 10
    return "".join(parts)
