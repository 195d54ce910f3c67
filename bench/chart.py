"""The comparison's factors as an SVG bar chart (no plotting library needed): one bar per
(metric, peer) that has a target, on a logarithmic axis, with the target marked."""

import math
from html import escape

LOW, HIGH = 0.1, 1000.0  # the axis: 0.1x to 1000x
LEFT, WIDTH, BAR, GAP = 430, 520, 16, 6


def _x(factor):
    f = min(max(factor, LOW), HIGH)
    return LEFT + WIDTH * (math.log10(f) - math.log10(LOW)) / (math.log10(HIGH) - math.log10(LOW))


def svg(rows, depots, info):
    bars = []
    for row in rows:
        for depot in depots:
            for peer, target in row["targets"].items():
                factor = row["factors"].get(depot, {}).get(peer)
                if factor is not None:
                    label = f"{row['workload']}: {row['metric']} vs {peer}"
                    if len(depots) > 1:
                        label = f"{depot}, " + label
                    bars.append((label, factor, target))
    top = 56
    height = top + len(bars) * (BAR + GAP) + 40
    m = info["machine"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{LEFT + WIDTH + 90}" height="{height}" '
           'font-family="sans-serif" font-size="11">',
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="18" font-size="14" font-weight="bold">How many times better Depot does than each peer '
           '(log scale; tick = target)</text>',
           f'<text x="10" y="36" fill="#555">{escape(m["date"])}, {m["cores"]} cores, {m["memory_gib"]} GiB; '
           f'median of {info["repetitions"]} run(s){"; SMOKE SIZES" if info["smoke"] else ""}</text>']
    for tick in (0.1, 1, 10, 100, 1000):
        x = _x(tick)
        out.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 30}" '
                   f'stroke="{"#333" if tick == 1 else "#ddd"}"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 16}" text-anchor="middle">{tick:g}x</text>')
    for i, (label, factor, target) in enumerate(bars):
        y = top + i * (BAR + GAP)
        met = factor >= target
        x0, x1 = sorted((_x(1), _x(factor)))
        out.append(f'<text x="{LEFT - 6}" y="{y + BAR - 4}" text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 1):.1f}" height="{BAR}" '
                   f'fill="{"#2e7d32" if met else "#c62828"}"/>')
        tx = _x(target)
        out.append(f'<line x1="{tx:.1f}" y1="{y - 2}" x2="{tx:.1f}" y2="{y + BAR + 2}" stroke="black" '
                   'stroke-width="2"/>')
        out.append(f'<text x="{max(x1, _x(1)) + 4:.1f}" y="{y + BAR - 4}">{factor:.2f}x</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
