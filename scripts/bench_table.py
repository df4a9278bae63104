"""Prints scripts/bench's results as one Markdown table: each figure beside its target.

    python scripts/bench_table.py RESULTS_DIR
        (engine.jsonl, scan.jsonl, lambda.json, cost.json, latency.json; each optional)
"""

import json
import os
import platform
import subprocess
import sys
import time

MIB = 2**20
SCAN_RATE_TARGET = 150_000
SCAN_MEMORY_TARGET = 128 * MIB
ZIP_TARGET = 6_000_000
INIT_TARGET_MS = 20
DETECTOR_MEMORY_TARGET = 64 * MIB
COST_TARGETS = {"a": 0.60, "b": 0.05, "c": 0.05}
LATENCY_TARGET_S = 2.0


def verdict(met):
    return "met" if met else "**not met**"


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores of {cpu} ({platform.machine()})"


def engine_rows(results):
    for line in results:
        bench = json.loads(line)
        yield (f"engine alone (criterion, real records, one core): {bench['label']}",
               f"{bench['events'] / bench['seconds']:,.0f} events/s",
               "(the whole scan's target is below)")


def latency_rows(figures):
    window = figures["parameters"].get("DetectorBatchingWindowSeconds")
    window = f"{window} s" if window else "the template's default"
    p99 = figures["to_anomaly_p99_s"]
    yield (f"latency: ingest to stored anomaly at a steady {figures['rate']:g} events/s "
           f"({figures['evaluated']:,} events; batching window {window})",
           f"p50 {figures['to_anomaly_p50_s']:.2f} s, p99 {p99:.2f} s",
           f"p99 ≤ {LATENCY_TARGET_S:g} s ({verdict(p99 <= LATENCY_TARGET_S)})")


def scan_rows(results):
    one_core_rate = None
    for line in results:
        scan = json.loads(line)
        rate = scan["records"] / scan["seconds"]
        memory_met = scan["peak_bytes"] <= SCAN_MEMORY_TARGET
        measured = (f"{scan['records']:,} records in {scan['seconds']:.2f} s: {rate:,.0f} records/s, "
                    f"peak {scan['peak_bytes'] / MIB:.0f} MiB")
        if scan.get("pinned", True):
            one_core_rate = rate
            target = f"≥ {SCAN_RATE_TARGET:,}/s ({verdict(rate >= SCAN_RATE_TARGET)}); "
        else:
            # The row before it is the same scan on one core.
            speedup = rate / one_core_rate if one_core_rate else float("nan")
            target = f"near-linear in cores: {speedup:.2f}× the one-core scan; "
        yield (scan["label"], measured, target + f"≤ 128 MiB ({verdict(memory_met)})")


def lambda_rows(figures):
    for name, function in figures["functions"].items():
        yield (f"{name} function: zipped (x86_64), cold start to its first `next`",
               f"{function['zip_bytes'] / 1e6:.2f} MB; {function['init_ms_median']:.1f} ms median, "
               f"{function['init_ms_max']:.1f} ms slowest",
               f"≤ 6 MB ({verdict(function['zip_bytes'] <= ZIP_TARGET)}); "
               f"≤ {INIT_TARGET_MS} ms ({verdict(function['init_ms_median'] <= INIT_TARGET_MS)})")
    detector = figures["detector"]
    batches = detector["batch_ms"]
    yield (f"detector: {detector['events']:,} events of {detector['principals']:,} principals in "
           f"{detector['batches']} batches of {detector['messages_per_batch']} packed messages",
           f"peak RSS {detector['peak_rss_bytes'] / MIB:.0f} MiB; batches of "
           f"{detector['messages_per_batch'] * detector['events_per_message']:,} events took "
           f"{sorted(batches)[len(batches) // 2] / 1000:.1f} s (median, against the local endpoint)"
           + (f"; the detector's CPU {detector['cpu_seconds']:.1f} s in all"
              if "cpu_seconds" in detector else ""),
           f"≤ 64 MiB ({verdict(detector['peak_rss_bytes'] <= DETECTOR_MEMORY_TARGET)})")


def cost_rows(figures):
    for path, run in figures["paths"].items():
        parts = ", ".join(f"{part} ${cost:.3f}" for part, cost in run["dollars_per_million"].items()
                          if cost >= 0.0005)
        total = run["total_per_million"]
        yield (f"cost ({path}): {run['label']}, per million events",
               f"**${total:.3f}** ({parts})",
               f"≤ ${COST_TARGETS[path]:.2f} ({verdict(total <= COST_TARGETS[path])}); "
               "GuardDuty $4.00, CloudTrail Insights $3.50")
        ledger = run.get("ledger_per_million", 0)
        if ledger >= 0.0005:
            # The ledger of posted events is a setting (EventStatusHours=0 turns it off).
            bare = total - ledger
            yield (f"cost ({path}) without the ledger of posted events (`EventStatusHours=0`)",
                   f"**${bare:.3f}** (the ledger: ${ledger:.3f})",
                   f"≤ ${COST_TARGETS[path]:.2f} ({verdict(bare <= COST_TARGETS[path])})")


def main():
    results = sys.argv[1]
    rows = []

    def read(name):
        path = os.path.join(results, name)
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return f.read()

    if benches := read("engine.jsonl"):
        rows.extend(engine_rows(benches.splitlines()))
    if scans := read("scan.jsonl"):
        rows.extend(scan_rows(scans.splitlines()))
    if figures := read("lambda.json"):
        rows.extend(lambda_rows(json.loads(figures)))
    if figures := read("cost.json"):
        figures = json.loads(figures)
        rows.extend(cost_rows(figures))
        prices = f" Prices: us-east-1 list prices as of {figures['prices']['as_of']}."
    else:
        prices = ""
    if figures := read("latency.json"):
        rows.extend(latency_rows(json.loads(figures)))
    version = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"Measured {time.strftime('%Y-%m-%d', time.gmtime())} on {machine()}, commit {version}.{prices}")
    print()
    print("| what | measured | target |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
