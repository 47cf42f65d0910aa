"""The PNG of a city benchmark result (matplotlib, Agg): latency per operation and the targets."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def raw_panel(ax: Any, result: dict[str, Any]) -> None:
    """Each figure ÷ the raw rate it is built from (tests/bench/ratios.py): throughput ratios
    (1: as fast as the bare store or bus) and latency ratios (p50 × the raw p50), on one log
    axis with the raw rate at 1 and the targets marked."""
    from matplotlib.patches import Patch

    raw = {k: r for k, r in result.get("ratios_to_raw", {}).items() if (r.get("value") or 0) > 0}  # a log axis
    targets = result.get("targets", {})
    if raw:
        names = list(raw)
        values = [raw[k]["value"] for k in names]
        colours = ["#1f77b4" if raw[k]["kind"] == "throughput" else "#ff7f0e" for k in names]
        ax.barh([k.replace("_", " ") for k in names], values, color=colours)
        for i, (k, v) in enumerate(zip(names, values, strict=True)):
            ax.text(v, i, f" {v:.3g}{'×' if raw[k]['kind'] == 'latency' else ''}", va="center", fontsize=8)
            if k in targets:  # the target's bound, and whether it is met
                t = targets[k]
                ax.plot([t["target"]] * 2, [i - 0.4, i + 0.4], color="#2ca02c" if t.get("met") else "#d62728", lw=2)
        ax.axvline(1.0, color="black", lw=1)
        ax.set_xscale("log")
        ax.set_xlim(right=max(max(values), 1.0) * 4)  # room for the last figure's text
        ax.legend(handles=[Patch(color="#1f77b4", label="rate ÷ raw rate"),
                           Patch(color="#ff7f0e", label="p50 ÷ raw p50")], fontsize=7, loc="lower right")
    ax.set_title("Figures ÷ the raw rates they are built from (targets marked)", fontsize=10)
    ax.tick_params(axis="y", labelsize=8)


def draw(result: dict[str, Any], path: Path) -> Path | None:
    """Draw the chart; None (and a note in the result) when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        result.setdefault("notes", []).append("no chart: matplotlib is not installed (pip install -e '.[bench]')")
        return None

    ops = {k: v for k, v in result.get("ops", {}).items() if v.get("count") or v.get("errors")}
    names = sorted(ops, key=lambda k: ops[k].get("p50_ms", 0))
    # reference rows below the operations: what a subscriber sees, and the raw ceilings' latency
    refs: dict[str, dict] = {}
    sub = result.get("report_to_subscriber", {})
    if sub.get("count"):
        refs["report→subscriber (ws)"] = {**sub, "throughput_per_s": sub["count"] / max(sub.get("subscribers") or 1, 1)
                                          / max(result["workload"].get("mixed_wall_s") or 1, 1)}
    mongo = result.get("ceilings", {}).get("mongo_report_writes", {})
    if mongo.get("report_txn_p50_ms"):
        refs["ceiling: raw report txn"] = {"p50_ms": mongo["report_txn_p50_ms"], "p99_ms": mongo.get("report_txn_p99_ms"),
                                           "throughput_per_s": mongo.get("reports_per_s")}
    nats = result.get("ceilings", {}).get("nats_rr", {})
    if nats.get("p50_ms"):
        refs["ceiling: raw NATS rr"] = nats
    if result.get("service_requests", {}).get("p50_ms"):
        refs["service ping (RpcClient)"] = result["service_requests"]
    raw = result.get("raw_rates", {})
    for label, r in (("raw: two-insert txn", raw.get("store", {}).get("txn_two_inserts", {})),
                     ("raw: JetStream publish", raw.get("js_publish", {}))):
        if r.get("p50_ms"):
            refs[label] = r
    names = list(refs) + names
    ops = {**ops, **refs}
    fig = plt.figure(figsize=(15, max(9.0, 0.38 * len(names) + 3)))
    grid = fig.add_gridspec(3, 2, width_ratios=[1.6, 1], height_ratios=[1, 1, 1])

    ax = fig.add_subplot(grid[:, 0])
    y = range(len(names))
    p50 = [ops[n].get("p50_ms", 0) for n in names]
    p95 = [ops[n].get("p95_ms", 0) for n in names]
    p99 = [ops[n].get("p99_ms", 0) for n in names]
    hatch = ["//" if n in refs else "" for n in names]
    for offset, values, label, colour in ((0.27, p99, "p99", "#d62728"), (0.0, p95, "p95", "#ff7f0e"),
                                          (-0.27, p50, "p50", "#1f77b4")):
        bars = ax.barh([i + offset for i in y], [v or 0 for v in values], height=0.27, label=label, color=colour)
        for bar, h in zip(bars, hatch):
            if h:
                bar.set_hatch(h)
                bar.set_alpha(0.6)
    ax.set_yticks(list(y))
    def label(n: str) -> str:
        o = ops[n]
        if not o.get("count") and o.get("errors"):
            return f"{n}  (all {o['errors']} failed)"
        errors = f", {o['errors']} failed" if o.get("errors") and n not in refs else ""
        return f"{n}  ({o.get('throughput_per_s') or 0:.3g}/s{errors})"

    ax.set_yticklabels([label(n) for n in names], fontsize=8)
    if refs:
        ax.axhline(len(refs) - 0.5, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("latency, ms (log)")
    if sub.get("count"):
        ax.axvline(250, color="purple", ls=":", lw=1)
        ax.text(250, len(names) - 0.4, " 250 ms: report→subscriber p99 target", fontsize=7, color="purple")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"Mixed workload through the gateway, {result['workload']['clients']} clients, "
                 f"{result['workload']['seconds']:g}s, dataset {result['dataset']}", fontsize=10)
    ax.grid(axis="x", which="both", alpha=0.3)

    ax2 = fig.add_subplot(grid[0, 1])
    targets = result.get("targets", {})
    labels, scores, colours, texts = [], [], [], []
    for name, t in targets.items():
        v, target = t.get("value"), t.get("target")
        if v is None or not target:
            continue
        # headroom: >= 1 means the target is met, whichever way it points
        score = (target / v if v else float("inf")) if t.get("direction") == "max" else v / target
        labels.append(name.replace("_", " "))
        scores.append(min(score, 5.0))
        colours.append("#2ca02c" if t.get("met") else "#d62728")
        texts.append(f"{v:g} ({'≤' if t.get('direction') == 'max' else '≥'} {target:g})")
    if labels:
        ax2.barh(labels, scores, color=colours)
        ax2.axvline(1.0, color="black", lw=1)
        for i, (score, txt) in enumerate(zip(scores, texts)):
            ax2.text(score, i, f" {txt}", va="center", fontsize=8)
        ax2.set_xlim(0, max(max(scores) * 1.6, 1.6))
    ax2.set_title("Targets: headroom (≥ 1 met)", fontsize=10)
    ax2.tick_params(axis="y", labelsize=8)

    ax3 = fig.add_subplot(grid[1, 1])
    ratios = {k: v for k, v in result.get("ratios", {}).items() if isinstance(v, (int, float))}
    if ratios:
        ax3.barh(list(ratios), list(ratios.values()), color="#9467bd")
        for i, v in enumerate(ratios.values()):
            ax3.text(v, i, f" {v:.3g}", va="center", fontsize=8)
        ax3.set_xscale("log")
    ax3.set_title("Ratios to the ceilings measured in the same run", fontsize=10)
    ax3.tick_params(axis="y", labelsize=8)
    raw_panel(fig.add_subplot(grid[2, 1]), result)
    fig.suptitle(f"Yiwang bench {result['started']} — {result['machine'].get('nproc')} cores", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
