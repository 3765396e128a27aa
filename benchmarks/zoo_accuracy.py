"""Benchmark: MultiDigits test accuracy of every sharing scheme and every balancer, through `mtl-zoo train`.

Each row is one `mtl-zoo train` run, in its own process, as a user would
start it, writing its artifact to a scratch folder; the row's figures are read
back from the `metrics.json` it wrote (test accuracy of `left_digit` and
`right_digit`, epochs, parameters, training time, the commit):

- sharing rows: `recipes/multidigits_<scheme>.yaml` as committed, plus
  `cgc` (the ple recipe with `sharing: cgc` and no `num_levels`) and
  `dselect_k` (the mmoe recipe with `sharing: dselect_k`, `k: 2`);
- balancer rows: `recipes/multidigits_hard.yaml` with
  `--set balancer.name=<name> --set training.epochs=3` for every registered
  balancer but `fixed` (whose figure is the `hard` row's).

The table is printed and written to `benchmarks/results/zoo_accuracy.{json,md}`
(`--name` changes the stem). When that json already holds rows of the same
labels, each accuracy is compared with its earlier figure and the run fails
(exit status 1, after writing) if one moved by more than `--tolerance`
(default 0.015: between seeds 1, 2 and 42 a recipe's accuracy moved by up to
0.0145, `results/zoo_accuracy_seed_spread.json`; README states it for its tables).
Training times are wall-clock seconds on the machine the script ran on and
depend on what else it was doing.

Usage:

    python benchmarks/zoo_accuracy.py [--only ROW ...] [--set KEY=VALUE ...] [--output-dir DIR] [--runs-dir DIR]
                                      [--name STEM] [--tolerance T]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ROOT / "recipes"
RESULTS = Path(__file__).resolve().parent / "results"
TASKS = ("left_digit", "right_digit")
BALANCER_EPOCHS = 3
# label -> (recipe, recipe changes {dotted key: value, or None to remove the key})
DERIVED_SHARING_ROWS = {
    "cgc": ("multidigits_ple", {"model.sharing": "cgc", "model.num_levels": None}),
    "dselect_k": ("multidigits_mmoe", {"model.sharing": "dselect_k", "model.k": 2}),
}


def sharing_rows() -> list:
    """`(group, label, recipe name, changes)` for every MultiDigits sharing recipe and the derived ones."""
    rows = []
    for path in sorted(RECIPES.glob("multidigits_*.yaml")):
        scheme = yaml.safe_load(path.read_text())["model"]["sharing"]
        rows.append(("sharing", scheme, path.stem, {}))
    rows += [("sharing", label, recipe, changes) for label, (recipe, changes) in DERIVED_SHARING_ROWS.items()]
    return rows


def balancer_rows(names) -> list:
    """`(group, label, recipe name, changes)`: the hard recipe with each balancer, `BALANCER_EPOCHS` epochs."""
    return [("balancer", name, "multidigits_hard", {"balancer.name": name, "training.epochs": BALANCER_EPOCHS})
            for name in names if name != "fixed"]


def changed_recipe(recipe: str, changes: dict, folder: Path) -> Path:
    """Writes the recipe with `changes` applied into `folder` and returns its path (the recipe itself if none)."""
    path = RECIPES / f"{recipe}.yaml"
    if not changes:
        return path
    document = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        *parents, leaf = key.split(".")
        section = document
        for parent in parents:
            section = section.setdefault(parent, {})
        if value is None:
            section.pop(leaf, None)
        else:
            section[leaf] = value
    target = folder / f"{recipe}__{'_'.join(str(v) for v in changes.values() if v is not None)}.yaml"
    target.write_text(yaml.safe_dump(document, sort_keys=False))
    return target


def train(recipe_path: Path, output: Path, overrides: list) -> dict:
    """Runs `mtl-zoo train RECIPE --output OUTPUT --overwrite [--set ...]`; returns its metrics.json."""
    command = [sys.executable, "-m", "mtl_zoo.cli", "train", str(recipe_path), "--output", str(output), "--overwrite"]
    for override in overrides:
        command += ["--set", override]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {completed.stderr.strip().splitlines()[-1:]}")
    return json.loads((output / "metrics.json").read_text())


def row_figures(group: str, label: str, recipe: str, metrics: dict) -> dict:
    """The table row of one run, from its metrics.json."""
    return {
        "group": group, "row": label, "recipe": recipe, "sharing": metrics["resolved_recipe"]["model"]["sharing"],
        "balancer": metrics["resolved_recipe"]["balancer"]["name"], "epochs": metrics["epochs"],
        **{f"{task}_accuracy": metrics["test"][task]["accuracy"] for task in TASKS},
        "parameters": metrics["parameters"], "train_seconds": metrics["timing"]["train_seconds"],
        "git_commit": metrics.get("git_commit"), "git_dirty": metrics.get("git_dirty"),
    }


def markdown_table(rows: list) -> str:
    lines = ["| group | row | recipe | epochs | left_digit accuracy | right_digit accuracy | parameters | train s |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['group']} | `{row['row']}` | {row['recipe']} | {row['epochs']} | "
                     f"{row['left_digit_accuracy']:.4f} | {row['right_digit_accuracy']:.4f} | "
                     f"{row['parameters']:,} | {row['train_seconds']:.0f} |")
    return "\n".join(lines)


def compare(previous: list, rows: list, tolerance: float) -> list:
    """Lines `row task: earlier -> now (change)` for rows present in both runs; the ones beyond `tolerance` flagged.

    >>> compare([{"group": "sharing", "row": "hard", "left_digit_accuracy": 0.98, "right_digit_accuracy": 0.97}],
    ...         [{"group": "sharing", "row": "hard", "left_digit_accuracy": 0.98, "right_digit_accuracy": 0.95}], 0.01)
    ['sharing hard left_digit: 0.9800 -> 0.9800 (+0.0000)', 'sharing hard right_digit: 0.9700 -> 0.9500 (-0.0200) BEYOND 0.01']
    """
    earlier = {(row["group"], row["row"]): row for row in previous}
    lines = []
    for row in rows:
        before = earlier.get((row["group"], row["row"]))
        for task in TASKS if before else ():
            old, new = before[f"{task}_accuracy"], row[f"{task}_accuracy"]
            flag = f" BEYOND {tolerance:g}" if abs(new - old) > tolerance else ""
            lines.append(f"{row['group']} {row['row']} {task}: {old:.4f} -> {new:.4f} ({new - old:+.4f}){flag}")
    return lines


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=None, metavar="ROW",
                        help="rows to run, by label (scheme or balancer name; default: all)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="extra recipe override for every run (e.g. training.epochs=1 for a quick check)")
    parser.add_argument("--output-dir", type=Path, default=RESULTS, help="where the json and md go")
    parser.add_argument("--runs-dir", type=Path, default=None, help="where the artifacts go (default: a temporary folder)")
    parser.add_argument("--name", default="zoo_accuracy",
                        help="stem of the result files (default: zoo_accuracy), e.g. to keep a run of some rows apart")
    parser.add_argument("--tolerance", type=float, default=0.015,
                        help="largest accepted change of an accuracy against the earlier run of the same name")
    args = parser.parse_args(argv)
    from mtl_zoo.registry import BALANCERS

    rows = sharing_rows() + balancer_rows(BALANCERS.names())
    if args.only:
        unknown = sorted(set(args.only) - {row[1] for row in rows})
        if unknown:
            parser.error(f"no such rows {unknown}; rows are {sorted({row[1] for row in rows})}")
        rows = [row for row in rows if row[1] in args.only]
    with tempfile.TemporaryDirectory() as scratch:
        runs = args.runs_dir or Path(scratch)
        runs.mkdir(parents=True, exist_ok=True)
        results = []
        for number, (group, label, recipe, changes) in enumerate(rows, start=1):
            print(f"[{number}/{len(rows)}] {group} {label}: {recipe} {changes or ''}", flush=True)
            metrics = train(changed_recipe(recipe, changes, runs), runs / f"{group}_{label}", args.set)
            results.append(row_figures(group, label, recipe, metrics))
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    table = markdown_table(results)
    print(table)
    document = {"rows": results, "overrides": args.set, "created": created, "cpu_count": os.cpu_count()}
    earlier_file = args.output_dir / f"{args.name}.json"
    changes = compare(json.loads(earlier_file.read_text())["rows"], results, args.tolerance) if earlier_file.exists() else []
    if changes:
        print(f"\nAgainst the earlier {earlier_file.name}:\n" + "\n".join(changes))
        document["compared_with"] = {"created": json.loads(earlier_file.read_text())["created"],
                                     "tolerance": args.tolerance, "changes": changes}
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / f"{args.name}.json").write_text(json.dumps(document, indent=2) + "\n")
    extra = f" with `--set {' --set '.join(args.set)}`" if args.set else ""
    (args.output_dir / f"{args.name}.md").write_text(
        f"# MultiDigits test accuracy per sharing scheme and balancer\n\nOne `mtl-zoo train` run per row{extra}, "
        f"figures from its metrics.json; written by `benchmarks/zoo_accuracy.py` on {created} "
        f"({os.cpu_count()} CPUs).\n\n{table}\n"
        + (f"\nAgainst the earlier run ({document['compared_with']['created']}), tolerance {args.tolerance:g}:\n\n"
           + "\n".join(f"- {line}" for line in changes) + "\n" if changes else ""))
    return document


if __name__ == "__main__":
    result = main()
    sys.exit(1 if any("BEYOND" in line for line in result.get("compared_with", {}).get("changes", [])) else 0)
