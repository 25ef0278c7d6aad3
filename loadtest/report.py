#!/usr/bin/env python3
"""Writes REPORT.md, report.json and plots for a load run of loadtest/run.

Reads the generator's JSON summary of each step (steps.tsv lists them with their wall-clock start
and end), the targeted server's CPU time over the measured window (steps/NAME.cpu: ticks before,
ticks after, ticks per second), and asks Prometheus' HTTP API what it saw during each gateway step:
calls counted, request and error rates, p99 from the duration histogram, per-stage latency, cache
counters, server CPU. The targets table holds issue 20's must-haves that a load run measures.
Exit status 1 when Prometheus' count of calls differs from the generator's by more than 1 %.
"""

import argparse
import csv
import json
import math
import os
import sys
import urllib.parse
import urllib.request

METHOD = "riskgate.v1.PaymentEvaluationService/CreatePaymentEvaluation"
SEL = f'method="{METHOD}"'
CACHE_METRICS = "riskgate_radar_session_lookups_total|riskgate_.*cache.*_total"
AGREEMENT = 0.01  # Prometheus and the generator must agree within 1 %.

# Targets of issue 20 (ratios, same run).
TARGET_THROUGHPUT_RATIO = 0.85
TARGET_P99_RATIO = 1.5  # gateway p99 ÷ baseline p99, both at 50 % of the gateway's max
BASELINES = {
    "tonic": "the echo server on tonic's defaults (one write per answer), issue 20's bare tonic echo",
    "transport": "the echo server on riskgate's transport (answers gathered into shared writes)",
}
TARGET_CPU_RATIO = 1.3  # CPU per call, gateway ÷ baseline, at each one's max
TARGET_OVERLOAD_P99_US = 50_000  # admitted calls at 2x the gateway's max
TARGET_DECISION_P50_NS = 4_000


class Prometheus:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def _get(self, path, params):
        q = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{q}", timeout=30) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise RuntimeError(f"prometheus: {body}")
        return body["data"]["result"]

    def instant(self, query, at):
        """The vector of `query` at Unix time `at`: [(labels, value)]."""
        out = []
        for s in self._get("/api/v1/query", {"query": query, "time": f"{at:.3f}"}):
            v = float(s["value"][1])
            out.append((s["metric"], v))
        return out

    def scalar(self, query, at):
        vals = [v for _, v in self.instant(query, at) if not math.isnan(v)]
        return sum(vals) if vals else None

    def series(self, query, start, end, step=1.0):
        """[(t, value)] of the first series of a range query."""
        res = self._get(
            "/api/v1/query_range",
            {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step)},
        )
        if not res:
            return []
        return [(float(t), float(v)) for t, v in res[0]["values"] if v not in ("NaN", "+Inf")]


def load_steps(path):
    steps = []
    with open(path) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            with open(row["json"]) as j:
                summary = json.load(j)
            steps.append(
                {
                    "name": row["name"],
                    "target": row["target"],
                    "start": float(row["start"]),
                    "end": float(row["end"]),
                    "summary": summary,
                }
            )
    return steps


def prometheus_view(prom, step):
    """What Prometheus saw of one gateway step. The measured window is the last `duration_secs`
    before the generator finished; the step's end is 2.5 s after that (two scrapes)."""
    s = step["summary"]
    t0, t1 = step["start"], step["end"]
    count = f"sum(riskgate_grpc_requests_total{{{SEL}}})"
    before = prom.scalar(count, t0) or 0.0
    after = prom.scalar(count, t1) or 0.0
    errors_q = f'sum(riskgate_grpc_requests_total{{{SEL},code!="OK"}})'
    err_before = prom.scalar(errors_q, t0) or 0.0
    err_after = prom.scalar(errors_q, t1) or 0.0
    # The measured window, for rates and histograms: it ended ~2.5 s before t1.
    w_end = t1 - 2.5
    w = max(2, int(round(s["duration_secs"])))
    rng = f"[{w}s]"
    p99 = prom.scalar(
        f"histogram_quantile(0.99, sum by (le) (increase(riskgate_grpc_request_duration_seconds_bucket{{{SEL}}}{rng})))",
        w_end,
    )
    p50 = prom.scalar(
        f"histogram_quantile(0.50, sum by (le) (increase(riskgate_grpc_request_duration_seconds_bucket{{{SEL}}}{rng})))",
        w_end,
    )
    rate = prom.scalar(f"sum(rate(riskgate_grpc_requests_total{{{SEL}}}{rng}))", w_end)
    cpu = prom.scalar(f'rate(process_cpu_seconds_total{{job="riskgate"}}{rng})', w_end)
    stages = {}
    for labels, v in prom.instant(
        f"sum by (stage) (increase(riskgate_stage_duration_seconds_sum{rng}))"
        f" / sum by (stage) (increase(riskgate_stage_duration_seconds_count{rng}))",
        w_end,
    ):
        if not math.isnan(v):
            stages.setdefault(labels.get("stage", "?"), {})["mean_us"] = v * 1e6
    for labels, v in prom.instant(
        f"histogram_quantile(0.99, sum by (le, stage) (increase(riskgate_stage_duration_seconds_bucket{rng})))",
        w_end,
    ):
        if not math.isnan(v):
            stages.setdefault(labels.get("stage", "?"), {})["p99_us"] = v * 1e6
    # Cache look-ups: Radar session look-ups (hit/miss) and any riskgate_*cache*_total counter.
    caches = []
    for labels, v in prom.instant(
        f'sum by (__name__, outcome, cache, result) (increase({{__name__=~"{CACHE_METRICS}"}}{rng}))',
        w_end,
    ):
        caches.append({"labels": labels, "increase": v})
    counted = after - before
    sent = s["calls_total"]
    return {
        "calls_counted": counted,
        "calls_sent": sent,
        "agreement": (counted - sent) / sent if sent else None,
        "errors_counted": err_after - err_before,
        "request_rate": rate,
        "p50_us": p50 * 1e6 if p50 is not None and not math.isnan(p50) else None,
        "p99_us": p99 * 1e6 if p99 is not None and not math.isnan(p99) else None,
        "server_cpu_cores": cpu,
        "stages": stages,
        "caches": caches,
    }


def cpu_per_call_us(out, step):
    """The targeted server's CPU time per call (µs) over the step's measured window, from
    steps/NAME.cpu; None when not recorded."""
    try:
        with open(os.path.join(out, "steps", f"{step['name']}.cpu")) as f:
            before, after, hz = (float(v) for v in f.read().split())
    except (OSError, ValueError):
        return None
    sent = step["summary"]["sent"]
    if not sent or not hz or after < before or before == 0:
        return None
    return (after - before) / hz / sent * 1e6


def criterion_median_ns(root, group, name):
    """Criterion's median estimate (ns) of a bench, when it has been run."""
    path = os.path.join(root, group, name, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def fmt(v, digits=0):
    if v is None:
        return "–"
    if isinstance(v, float) and math.isnan(v):
        return "–"
    return f"{v:,.{digits}f}"


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return a / b


def plots(out, steps, prom, views):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    # 1. Latency percentiles vs offered rate (gateway, open loop), baseline for comparison.
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for target, marker in (("gateway", "o"), ("baseline", "s")):
        pts = sorted(
            (st["summary"]["offered_rate"], st["summary"]["latency_us"])
            for st in steps
            if st["target"] == target and st["summary"]["mode"] == "open"
        )
        if not pts:
            continue
        xs = [p[0] for p in pts]
        for key, style in (("p50", "-"), ("p90", "--"), ("p99", "-."), ("p999", ":")):
            ax.plot(xs, [p[1][key] for p in pts], style, marker=marker, label=f"{target} {key}")
    ax.set_xlabel("offered rate (calls/s)")
    ax.set_ylabel("latency (µs, from scheduled send)")
    ax.set_yscale("log")
    ax.set_title("Latency percentiles vs offered rate (open loop)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "latency_vs_rate.png"), dpi=110)
    plt.close(fig)
    made.append("latency_vs_rate.png")

    # 2. Throughput and p99 over time, as Prometheus saw the gateway.
    start = min(st["start"] for st in steps)
    end = max(st["end"] for st in steps)
    rate = prom.series(f"sum(rate(riskgate_grpc_requests_total{{{SEL}}}[2s]))", start, end)
    p99 = prom.series(
        f"histogram_quantile(0.99, sum by (le) (rate(riskgate_grpc_request_duration_seconds_bucket{{{SEL}}}[2s])))",
        start,
        end,
    )
    fig, ax = plt.subplots(figsize=(9, 4.5))
    if rate:
        ax.plot([t - start for t, _ in rate], [v for _, v in rate], color="tab:blue", label="calls/s")
    ax.set_xlabel("seconds since the first step")
    ax.set_ylabel("gateway calls/s (Prometheus)", color="tab:blue")
    ax2 = ax.twinx()
    if p99:
        ax2.plot([t - start for t, _ in p99], [v * 1e6 for _, v in p99], color="tab:red", label="p99")
    ax2.set_ylabel("gateway p99 (µs, server side, histogram)", color="tab:red")
    for st in steps:
        ax.axvspan(st["start"] - start, st["end"] - start, alpha=0.06,
                   color="tab:green" if st["target"] == "gateway" else "tab:gray")
        ax.text(st["start"] - start, ax.get_ylim()[1] * 0.97, st["name"], fontsize=6, rotation=90, va="top")
    ax.set_title("Throughput and p99 over time (gray: baseline steps)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "throughput_p99_over_time.png"), dpi=110)
    plt.close(fig)
    made.append("throughput_p99_over_time.png")

    # 3. Stage breakdown at the gateway's 50 % step (mean µs per stage, Prometheus).
    view = views.get("gateway-open-50") or next(iter(views.values()), None)
    if view and view["stages"]:
        names = sorted(view["stages"])
        means = [view["stages"][n].get("mean_us", 0.0) for n in names]
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.barh(names, means, color="tab:purple")
        total = view.get("p50_us")
        ax.set_xlabel("mean µs per call" + (f" (whole call p50 ≈ {total:.0f} µs)" if total else ""))
        ax.set_title("Where a call's time goes, by pipeline stage (gateway at 50 % of its max)")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "stage_breakdown.png"), dpi=110)
        plt.close(fig)
        made.append("stage_breakdown.png")
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--prometheus", required=True)
    ap.add_argument("--steps", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--criterion", default="target/criterion")
    args = ap.parse_args()

    prom = Prometheus(args.prometheus)
    steps = load_steps(args.steps)
    with open(args.run) as f:
        run = json.load(f)
    by_name = {st["name"]: st for st in steps}
    views = {st["name"]: prometheus_view(prom, st) for st in steps if st["target"] == "gateway"}

    def summ(name):
        return by_name[name]["summary"] if name in by_name else None

    base_max, gw_max = summ("baseline-max"), summ("gateway-max")
    base_50, gw_50 = summ("baseline-open-50"), summ("gateway-open-50")
    base_50b, gw_50b = summ("baseline-open-50b"), summ("gateway-open-50b")
    decision_ns = criterion_median_ns(args.criterion, "decision", "in_process_decision")
    cpu_us = {st["name"]: cpu_per_call_us(args.out, st) for st in steps}

    def p99(summary):
        return summary["latency_us"]["p99"] if summary else None

    def refused(name):
        summary = summ(name)
        return summary["errors"].get("RESOURCE_EXHAUSTED", 0) if summary else None

    throughput_ratio = ratio(gw_max and gw_max["achieved_rate"], base_max and base_max["achieved_rate"])
    p99_ratio = ratio(p99(gw_50), p99(base_50))
    p99_ratio_b = ratio(p99(gw_50b), p99(base_50b))
    cpu_ratio = ratio(cpu_us.get("gateway-max"), cpu_us.get("baseline-max"))
    cpu_ratio_50 = ratio(cpu_us.get("gateway-open-50"), cpu_us.get("baseline-open-50"))
    overload = summ("gateway-overload")
    overload_p99 = overload["step_down"]["before"]["latency_us"]["p99"] if overload and overload.get("step_down") else None
    refusals = {name: refused(name) for name in ("gateway-open-50", "gateway-open-75")}
    refusals_measured = all(v is not None for v in refusals.values())
    invalid = [st["name"] for st in steps if not st["summary"]["valid"]]
    # The max scales every later step; a later step that served more OK calls per second than the
    # max step shows the max was taken on a disturbed machine (the generator's validity check
    # cannot see that: the server, not the generator, was slow).
    underestimated = []
    if gw_max:
        for st in steps:
            sm = st["summary"]
            ok_rate = sm["ok"] / sm["duration_secs"] if sm["duration_secs"] else 0
            if st["target"] == "gateway" and st["name"] != "gateway-max" and ok_rate > 1.05 * gw_max["achieved_rate"]:
                underestimated.append((st["name"], ok_rate))

    def target(name, want, got, met):
        return {"target": name, "want": want, "got": got, "met": got is not None and met}

    targets = [
        target("1. throughput: gateway max ÷ baseline max (closed loop)", f"≥ {TARGET_THROUGHPUT_RATIO}",
               throughput_ratio, (throughput_ratio or 0) >= TARGET_THROUGHPUT_RATIO),
        target("2. tail: gateway p99 ÷ baseline p99, both open loop at 50 % of the gateway max",
               f"≤ {TARGET_P99_RATIO}", p99_ratio, (p99_ratio or 1e9) <= TARGET_P99_RATIO),
        target("3. CPU per call: gateway ÷ baseline, each at its max", f"≤ {TARGET_CPU_RATIO}",
               cpu_ratio, (cpu_ratio or 1e9) <= TARGET_CPU_RATIO),
        target("4. in-process decision median (ns, criterion `decision/in_process_decision`)",
               f"≤ {TARGET_DECISION_P50_NS:,}", decision_ns, (decision_ns or 1e9) <= TARGET_DECISION_P50_NS),
        target("6. calls refused (RESOURCE_EXHAUSTED) at 50 % and 75 % of the gateway max", "0",
               sum(refusals.values()) if refusals_measured else None,
               refusals_measured and sum(refusals.values()) == 0),
        target("6. admitted calls' p99 at 2x the gateway max (µs)", f"≤ {TARGET_OVERLOAD_P99_US:,}",
               overload_p99, (overload_p99 or 1e12) <= TARGET_OVERLOAD_P99_US),
        target("7. steps the generator could not drive (INVALID)", "0", len(invalid), not invalid),
        target("7. later gateway steps serving more than the measured max (max disturbed)", "0",
               len(underestimated), not underestimated),
    ]
    disagreements = [
        (n, v) for n, v in views.items() if v["agreement"] is None or abs(v["agreement"]) > AGREEMENT
    ]
    made = plots(args.out, steps, prom, views)

    report = {
        "run": run,
        "steps": [
            {**{k: st[k] for k in ("name", "target", "start", "end")}, "generator": st["summary"],
             "prometheus": views.get(st["name"])}
            for st in steps
        ],
        "targets": targets,
        "ratios": {
            "throughput_gateway_over_baseline": throughput_ratio,
            "p99_gateway_over_baseline_at_50pct_gateway_max": p99_ratio,
            "p99_gateway_over_baseline_at_50pct_baseline_max": p99_ratio_b,
            "cpu_per_call_gateway_over_baseline_at_max": cpu_ratio,
            "cpu_per_call_gateway_over_baseline_at_50pct_gateway_max": cpu_ratio_50,
        },
        "cpu_per_call_us": cpu_us,
        "prometheus_agrees_within_1pct": not disagreements,
        "invalid_steps": invalid,
        "max_underestimated_by": [{"step": n, "ok_rate": r} for n, r in underestimated],
        "plots": made,
    }
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")

    L = []
    L.append("# riskgate load report\n")
    L.append(
        f"Machine: {run['nproc']} CPUs ({run['cpu_model']}), load average at the end {run['loadavg']}; "
        f"pinning: {run['pinning']}; CPU limit: {run.get('cpu_quota', 'none')}. riskgate {run['riskgate']} (git {run['git']}), config: {run['config']}. "
        f"Baseline: {BASELINES.get(run.get('baseline', 'transport'), run.get('baseline'))}. "
        f"Each step: {run['warmup_secs']} s warm-up (open loop: after a 1 s ramp), then "
        f"{run['duration_secs']} s measured; {run['connections']} HTTP/2 connections; closed loop with "
        f"{run['concurrency']} callers. Traffic: the simulator's requests (seed 1, 30 days), cycled, "
        f"without idempotency keys. Latency is the generator's, from the *scheduled* send time in open "
        f"loop (HdrHistogram), so it includes any queueing; Prometheus' p99 is the server's own, from "
        f"its histogram buckets (coarse: 25/50/100/250/500 µs, 1 ms…).\n"
    )
    L.append("## Targets (ratios from this run)\n")
    L.append("| target | want | got | met |\n| --- | --- | --- | --- |")
    for t in targets:
        got = t["got"]
        got_s = (
            "not measured" if got is None
            else f"{got:,}" if isinstance(got, int)
            else f"{got:.2f}" if got < 100
            else f"{got:,.0f}"
        )
        L.append(f"| {t['target']} | {t['want']} | {got_s} | {'yes' if t['met'] else '**no**'} |")
    L.append(
        "| 7. Prometheus counts every call the generator sent, refused ones too (each gateway step, ±1 %) "
        f"| yes | {'yes' if not disagreements else 'no: ' + ', '.join(n for n, _ in disagreements)} "
        f"| {'yes' if not disagreements else '**no**'} |"
    )
    L.append("")
    L.append(
        "Must-haves 1–3 are also measured with nghttp2's generator (`loadtest/h2load-ab`); 5 (Redis) is the "
        "Redis benches'. The decision figure is criterion's last run of `cargo bench --bench decision` on "
        "this machine" + ("." if decision_ns is not None else " — it had not been run.")
    )
    for name, rate in underestimated:
        L.append(
            f"- **{name} served {rate:,.0f} OK calls/s, more than the gateway max step's "
            f"{gw_max['achieved_rate']:,.0f}/s:** the max was measured on a disturbed machine, and every step "
            "scaled from it (the 25/50/75 % and 2x rates) is lower than intended. Rerun."
        )
    if p99_ratio_b is not None:
        L.append(
            f"At 50 % of the *baseline's* max (a rate above the gateway's own maximum here when the ratio of "
            f"maxima is under 0.5), gateway p99 ÷ baseline p99 = {p99_ratio_b:.2f}."
        )
    L.append("")
    L.append("## CPU per call (the server's own CPU time over the measured window ÷ calls)\n")
    L.append("| step | server | calls | CPU µs per call |\n| --- | --- | ---: | ---: |")
    for st in steps:
        L.append(
            f"| {st['name']} | {st['target']} | {st['summary']['sent']:,} | {fmt(cpu_us.get(st['name']), 1)} |"
        )
    if cpu_ratio_50 is not None:
        L.append(f"\nAt the same rate (50 % of the gateway max, open loop): gateway ÷ baseline = {cpu_ratio_50:.2f}.")
    L.append("")
    L.append("## Steps (generator's view)\n")
    L.append(
        "| step | target | mode | offered/s | achieved/s | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs "
        "| errors | gen. CPU (cores) | valid |\n| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | --- | ---: | --- |"
    )
    for st in steps:
        s = st["summary"]
        lat = s["latency_us"]
        mode = s["mode"] if s["mode"] == "open" else f"closed ×{s['concurrency']}"
        errors = ", ".join(f"{k} {v}" for k, v in s["errors"].items()) or "none"
        g = s["generator"]
        L.append(
            f"| {st['name']} | {st['target']} | {mode} | {fmt(s['offered_rate'])} | {fmt(s['achieved_rate'])} "
            f"| {lat['p50']} | {lat['p90']} | {lat['p99']} | {lat['p999']} | {lat['max']} | {errors} "
            f"| {g['cores_used']:.2f}/{g['cores_available']}{' SATURATED' if g['saturated'] else ''} "
            f"| {'yes' if s['valid'] else '**no**'} |"
        )
    L.append("")
    if invalid:
        L.append(
            f"**Invalid steps: {', '.join(invalid)}** — the generator used ≥ 90 % of its core(s) or could not "
            "send on schedule, so it, not the server, may have set the figure. On this 2-core machine the "
            "generator has one core, like the server; a closed-loop maximum is then a lower bound.\n"
        )
    for st in steps:
        for w in st["summary"]["warnings"]:
            L.append(f"- {st['name']}: {w}")
    L.append("")
    for st in steps:
        sd = st["summary"].get("step_down")
        if not sd:
            continue
        L.append(f"## Overload ({st['name']})\n")
        L.append(
            f"Open loop at {fmt(sd['before']['offered_rate'])}/s for {sd['before']['seconds']} s, then "
            f"{fmt(sd['after']['offered_rate'])}/s for {sd['after']['seconds']} s (p99 budget "
            f"{sd['p99_budget_us'] / 1000:g} ms)."
            + (
                f" The generator's pacing thread ran with {st['summary']['pacing_slack_us']} µs of timer slack: "
                "calls due within it left together (fewer, fuller writes, so that one core can offer "
                "this rate), up to that much late, and their latency includes it."
                if st["summary"].get("pacing_slack_us")
                else ""
            )
            + "\n"
        )
        L.append(
            "| phase | offered/s | OK/s | refused (RESOURCE_EXHAUSTED) | other errors | admitted p50 µs "
            "| admitted p99 µs |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
        )
        for name in ("before", "after"):
            p = sd[name]
            L.append(
                f"| {name} the step | {fmt(p['offered_rate'])} | {fmt(p['ok_rate'])} | {p['refused_share'] * 100:.1f} % "
                f"| {p['failed']:,} | {p['latency_us']['p50']:,} | {p['latency_us']['p99']:,} |"
            )
        rec = sd["recovered_after_secs"]
        L.append(
            "\nRecovery: "
            + (
                f"the first second with no errors and p99 within budget started {rec} s after the step."
                if rec is not None
                else "**no second after the step was free of errors with p99 within budget.**"
            )
        )
        L.append("\n| second | sent | OK | refused | other errors | p99 µs |\n| ---: | ---: | ---: | ---: | ---: | ---: |")
        for sec in st["summary"]["timeline"]:
            L.append(
                f"| {sec['second']} | {sec['sent']:,} | {sec['ok']:,} | {sec['refused']:,} | {sec['failed']:,} "
                f"| {sec['p99_us']:,} |"
            )
        L.append("")
    L.append("## Prometheus' view of the gateway steps\n")
    L.append(
        "| step | calls counted | calls sent | difference | errors counted | rate/s | p50 µs | p99 µs "
        "| server CPU (cores) |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    for name, v in views.items():
        agree = "–" if v["agreement"] is None else f"{v['agreement'] * 100:+.2f} %"
        L.append(
            f"| {name} | {v['calls_counted']:,.0f} | {v['calls_sent']:,} | {agree} | {v['errors_counted']:,.0f} "
            f"| {fmt(v['request_rate'])} | {fmt(v['p50_us'])} | {fmt(v['p99_us'])} | {fmt(v['server_cpu_cores'], 2)} |"
        )
    L.append("")
    L.append(
        "Prometheus agrees with the generator's count of calls within 1 % in every gateway step."
        if not disagreements
        else f"**Prometheus disagrees with the generator by more than 1 % in: {', '.join(n for n, _ in disagreements)}.**"
    )
    L.append("")
    view = views.get("gateway-open-50")
    if view and view["stages"]:
        L.append("## Stage breakdown (gateway at 50 % of its max, Prometheus)\n")
        L.append("| stage | mean µs | p99 µs (buckets) |\n| --- | ---: | ---: |")
        for n in sorted(view["stages"]):
            st = view["stages"][n]
            L.append(f"| {n} | {fmt(st.get('mean_us'), 1)} | {fmt(st.get('p99_us'))} |")
        L.append("")
        if view["caches"]:
            hits = sum(c["increase"] for c in view["caches"] if c["labels"].get("outcome") == "hit")
            misses = sum(c["increase"] for c in view["caches"] if c["labels"].get("outcome") == "miss")
            if hits + misses > 0:
                L.append(f"Cache hit ratio (look-ups with outcome hit ÷ hit + miss): {hits / (hits + misses):.3f}.\n")
            L.append("Cache counters (increase over the window):\n")
            for c in view["caches"]:
                L.append(f"- `{json.dumps(c['labels'], sort_keys=True)}`: {c['increase']:,.0f}")
        else:
            L.append("riskgate exposed no cache look-up counters in this run, so no hit ratio.")
        L.append("")
    profile = os.path.join(args.out, "profile.txt")
    if os.path.exists(profile):
        with open(profile) as f:
            rows = []
            for line in f:
                row = " ".join(line.split())
                # perf's trailing IPC columns are "-  -" without hardware counters.
                rows.append(row[:-4] if row.endswith(" - -") else row)
            rows = [r for r in rows if r][:30]
        L.append("## Where riskgate's CPU goes (perf, gateway max step, self time)\n")
        dso = os.path.join(args.out, "profile-dso.txt")
        if os.path.exists(dso):
            with open(dso) as f:
                shares = [" ".join(l.split()[:2]) for l in f if l.strip()][:6]
            L.append("By object: " + ", ".join(shares) + ".\n")
        L.append("```")
        L.extend(rows)
        L.append("```\n")
        if os.path.exists(os.path.join(args.out, "profile.svg")):
            L.append("Flame graph of the same profile, with callers: [profile.svg](profile.svg).\n")
    L.append("## Plots\n")
    for p in made:
        L.append(f"![{p}]({p})\n")
    with open(os.path.join(args.out, "REPORT.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    print(f"wrote {os.path.join(args.out, 'REPORT.md')}, report.json and {len(made)} plots", file=sys.stderr)
    if disagreements:
        for n, v in disagreements:
            print(f"report.py: {n}: Prometheus counted {v['calls_counted']:.0f}, generator sent {v['calls_sent']}",
                  file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
