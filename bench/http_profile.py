"""Where a row of http_bench.py spends the server's time: py-spy under wrk's load.

Starts diagpro as http_bench.py does (embedded defaults, one trusted proxy, default rate limit),
drives one row with wrk while py-spy samples the server (every thread, GIL-idle samples
dropped), and prints the functions that hold the most samples, inclusive and self, with the
collapsed stacks kept for a flame graph (`--keep DIR`).

    .venv/bin/python bench/http_profile.py save|first|duplicate|status [--seconds 10]

Needs wrk and py-spy (`pip install py-spy`). See bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import http_bench as hb


def top(collapsed: Path, limit: int) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1] for f in stack.split(";")]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            own[frames[-1]] += count
    lines = [f"{total} samples"]
    for title, counter in (("inclusive", inclusive), ("self", own)):
        lines.append(f"\n-- {title} --")
        for frame, count in counter.most_common(limit):
            lines.append(f"{count / total:6.1%}  {frame}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("row", choices=["save", "first", "duplicate", "status"])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--limit", type=int, default=45)
    parser.add_argument("--keep", help="copy the collapsed stacks into this folder")
    parser.add_argument("--src", help="serve diagpro from this src folder")
    args = parser.parse_args()
    # The venv's own py-spy first (pip installs it beside this Python), then PATH's.
    spy_path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    py_spy = shutil.which("py-spy", path=spy_path)
    if not py_spy:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")

    from diagpro.config import load_settings, with_local_secrets

    with tempfile.TemporaryDirectory(prefix="diagpro-profile-") as tmp:
        folder = Path(tmp)
        env_vars = {
            "DIAGPRO_DATA_DIR": str(folder / "data"),
            "DIAGPRO_API_KEYS": hb.API_KEY,
            "DIAGPRO_TRUSTED_PROXIES": "1",
        }
        settings = with_local_secrets(load_settings(env_vars))
        env = {**os.environ, **env_vars}
        if args.src:
            env["PYTHONPATH"] = str(Path(args.src).resolve())
        bare = hb.start_server("bare", env, folder)
        diagpro = hb.start_server("diagpro", env, folder)
        try:
            for server in (bare, diagpro):
                hb.wait_ready(server)
            # Saves (and payments) first, when the row needs submissions to act on.
            scenario = hb.Scenario(bare, diagpro, settings, folder, args)
            scenario.one_pass("warm", 2)
            collapsed = folder / "stacks.txt"
            spy = subprocess.Popen(
                [
                    *(py_spy, "record", "--pid", str(diagpro.process.pid), "--gil"),
                    *("--rate", "250", "--format", "raw", "--output", str(collapsed)),
                    *("--duration", str(int(args.seconds) + 1), "--nonblocking"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)
            load = row_load(scenario, args.row, folder)
            result = hb.drive(load, args.seconds, args.connections, scenario.clients)
            spy.wait(timeout=60)
            print(
                f"{args.row}: {result.rps:.0f} req/s, p99 {result.p99_ms:.1f} ms, "
                f"server CPU {result.server_cpu_ms:.3f} ms/request"
            )
            print(top(collapsed, args.limit))
            if args.keep:
                shutil.copy(collapsed, Path(args.keep) / f"{args.row}.collapsed.txt")
        finally:
            for server in (bare, diagpro):
                hb.stop_server(server)


def row_load(scenario: hb.Scenario, row: str, folder: Path) -> hb.Load:
    """The load of one row, on the submissions the warm-up pass left."""
    keyed = {"x-api-key": hb.API_KEY}
    if row == "save":
        return hb.Load(
            scenario.diagpro, "/saveSubmission", "clients", scenario.body, '"pending"', "", keyed
        )
    if row == "first":
        # New submissions to pay for: saved here, outside the profile's window of interest.
        hb.drive(
            hb.Load(
                scenario.diagpro,
                "/saveSubmission",
                "clients",
                scenario.body,
                '"pending"',
                "",
                keyed,
            ),
            6,
            32,
            scenario.clients + 10**6,
        )
        time.sleep(0.5)
        ids = [i for i in hb.ids_in(scenario.database, "pending") if i not in scenario.used]
        events = hb.completions(ids, scenario.settings, "profile")
        lines = folder / "profile-events.tsv"
        lines.write_text(hb.signed_lines(events, scenario.settings.local_webhook_secret))
        return hb.Load(
            scenario.diagpro, "/webhook/stripe", "each", lines, '"fulfilled"', "Stripe-Signature"
        )
    paid = hb.ids_in(scenario.database, "paid")
    if row == "duplicate":
        events = hb.completions(paid, scenario.settings, "warm")
        lines = folder / "profile-again.tsv"
        lines.write_text(hb.signed_lines(events, scenario.settings.local_webhook_secret))
        return hb.Load(
            scenario.diagpro,
            "/webhook/stripe",
            "cycle",
            lines,
            '"duplicate":true',
            "Stripe-Signature",
        )
    asks = folder / "profile-status.tsv"
    asks.write_text("".join(f'{hb.API_KEY}\t{{"submissionId": "{i}"}}\n' for i in paid))
    return hb.Load(scenario.diagpro, "/analysisStatus", "cycle", asks, '"status"', "x-api-key")


if __name__ == "__main__":
    main()
