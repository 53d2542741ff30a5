#!/usr/bin/env python3
"""Prints the medians of the last `cargo bench -p rotor-core --bench jwt` run as a Markdown table,
with each library's time as a multiple of rotor-core's and of the bare HMAC floor's.

Usage: python3 core/benches/ratios.py [target/criterion]
"""

import json
import pathlib
import sys

LIBRARIES = ["rotor-core", "jsonwebtoken", "jwt-simple", "jwt-compact", "hmac-floor"]


def median_ns(root: pathlib.Path, group: str, name: str) -> float:
    estimates = root / group / name / "new" / "estimates.json"
    return json.loads(estimates.read_text())["median"]["point_estimate"]


def main() -> None:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
    print("| group | library | median | ÷ rotor-core | ÷ floor |")
    print("| --- | --- | ---: | ---: | ---: |")
    for group in ["sign", "verify"]:
        medians = {lib: median_ns(root, group, lib) for lib in LIBRARIES}
        rotor, floor = medians["rotor-core"], medians["hmac-floor"]
        for lib in LIBRARIES:
            m = medians[lib]
            print(f"| {group} | {lib} | {m:,.0f} ns | {m / rotor:.2f}× | {m / floor:.2f}× |")
    for group in ["sign", "verify"]:
        medians = {lib: median_ns(root, group, lib) for lib in LIBRARIES}
        rotor, floor = medians["rotor-core"], medians["hmac-floor"]
        print(
            f"\n{group}: rotor-core is {medians['jsonwebtoken'] / rotor:.2f}× faster than "
            f"jsonwebtoken and {rotor / floor:.2f}× the floor"
        )


if __name__ == "__main__":
    main()
