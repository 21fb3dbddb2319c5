#!/usr/bin/env python3
"""Render charts/emrex with the Helm engine itself (PyPI `helm-python-sdk`, Helm v4's Go SDK
through ctypes; no helm binary) and print the manifests.

    render.py [--combination NAME]... [--values FILE]... [--set-json JSON]... [--name RELEASE]
              [--namespace NS] [--kube-version vX.Y.Z] [--lint] [--output json|yaml]
    render.py --all [...]          every combination of the combinations file, as {name: result}
    render.py --list               the combination names
    render.py --yaml-to-json FILE  a (multi-document) YAML file as a JSON list, parsed like Helm does
    render.py --helm install|upgrade|uninstall --kubeconfig FILE [values options] [--name] [--namespace]
                                   the real thing: Helm's install/upgrade/uninstall against that
                                   cluster (no waiting for Pods); prints the release as JSON

The values given to Helm are, merged in this order: the named combinations (from
tests/chart/combinations.json or --combinations FILE), --values files (YAML or JSON), --set-json
objects. Helm merges them over the chart's values.yaml and validates the result against
values.schema.json before rendering, as `helm install` does.

JSON output (one render): {"chart": {...Chart.yaml}, "values": {...given}, "objects": [{"template":
PATH, "object": {...}}], "notes": TEXT, "lint": [{"severity", "path", "error"}]}. YAML output: the
documents as `helm template` prints them.

Exit status: 0 rendered (and, with --lint, no lint warning or error); 1 the values violate the
schema, a template failed, or lint found a warning or error (the reason on stderr); 2 usage.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEFAULT_CHART = ROOT / "charts" / "emrex"
DEFAULT_COMBINATIONS = HERE / "combinations.json"

try:
    import helm_python as helm
    from helm_python import _native
except ImportError:  # pragma: no cover - reported to the caller
    print(
        "render.py: the Python package helm-python-sdk is missing "
        "(python3 -m pip install helm-python-sdk; scripts/test.sh installs it)",
        file=sys.stderr,
    )
    sys.exit(2)

DOC_SPLIT = re.compile(r"(?m)^---[ \t]*$")
LINT_SEVERITY = {0: "unknown", 1: "info", 2: "warning", 3: "error"}


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep merge of value maps (`over` wins), like Helm coalesces several -f files."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load_combinations(path: Path) -> dict[str, dict[str, Any]]:
    data = json.loads(path.read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


def yaml_docs(text: str) -> list[Any]:
    """Parse every YAML document with Helm's own YAML reader (sigs.k8s.io/yaml); skip empty ones."""
    docs = []
    for chunk in DOC_SPLIT.split(text):
        if not chunk.strip():
            continue
        parsed = helm.values_from_yaml(chunk)
        if parsed:
            docs.append(parsed)
    return docs


def render(
    chart_dir: Path,
    values: dict[str, Any],
    name: str,
    namespace: str,
    kube_version: str | None,
    lint: bool,
) -> dict[str, Any]:
    """Render once; raises helm.HelmError (schema violation, template failure)."""
    with helm.Chart.load(chart_dir) as chart:
        if kube_version:
            # Chart.render() does not expose the engine's Capabilities options; the library call
            # behind it takes them (helm-python-sdk 0.2.x: kube_version, api_versions), so a test
            # can render for the API server it applies to, as `helm install` would.
            opts = {"name": name, "namespace": namespace, "kube_version": kube_version}
            manifests = json.loads(
                _native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(opts))
            )
        else:
            manifests = chart.render(values, name=name, namespace=namespace)
        result: dict[str, Any] = {
            "chart": chart.metadata,
            "values": values,
            "objects": [],
            "notes": "",
            "lint": [],
        }
    for template in sorted(manifests):
        text = manifests[template]
        if template.endswith("NOTES.txt"):
            result["notes"] = text
            continue
        for obj in yaml_docs(text):
            result["objects"].append({"template": template, "object": obj})
    result["_manifests"] = manifests
    if lint:
        report = helm.lint(
            chart_dir, values, strict=True, namespace=namespace, kube_version=kube_version
        )
        result["lint"] = [
            {
                "severity": LINT_SEVERITY.get(m.get("severity", 0), str(m.get("severity"))),
                "path": m.get("path", ""),
                "error": m.get("error", "").strip(),
            }
            for m in report.get("messages", [])
        ]
    return result


def helm_action(args: argparse.Namespace, values: dict[str, Any]) -> dict[str, Any]:
    """`helm install|upgrade|uninstall` through the SDK (Helm v4, server-side apply); the release
    with its manifest's objects."""
    with helm.Config(kubeconfig_path=args.kubeconfig, namespace=args.namespace) as cfg:
        if args.helm == "uninstall":
            release = cfg.uninstall(args.name)["release"]
        elif args.helm == "install":
            release = cfg.install(args.chart, args.name, values, namespace=args.namespace,
                                  timeout=120)
        else:
            release = cfg.upgrade(args.chart, args.name, values, namespace=args.namespace,
                                  timeout=120)
    manifest = release.pop("manifest", "") or ""
    release.pop("chart", None)
    release.pop("config", None)
    release["objects"] = yaml_docs(manifest)
    return release


def as_yaml(result: dict[str, Any]) -> str:
    out = []
    for template in sorted(result["_manifests"]):
        text = result["_manifests"][template]
        if template.endswith("NOTES.txt"):
            continue
        for chunk in DOC_SPLIT.split(text):
            if chunk.strip() and helm.values_from_yaml(chunk):
                out.append(f"---\n# Source: {template}\n{chunk.strip()}\n")
    return "".join(out)


def lint_problems(result: dict[str, Any]) -> list[str]:
    return [
        f"{m['severity']}: {m['path']}: {m['error']}"
        for m in result["lint"]
        if m["severity"] not in ("info",)
    ]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        description="Render charts/emrex with the Helm engine (helm-python-sdk).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    p.add_argument("--chart", type=Path, default=DEFAULT_CHART, help="chart directory")
    p.add_argument("--combinations", type=Path, default=DEFAULT_COMBINATIONS,
                   help="JSON file of named value combinations")
    p.add_argument("--combination", action="append", default=[], metavar="NAME",
                   help="use this named combination (repeatable; merged in order)")
    p.add_argument("--all", action="store_true", help="render every named combination")
    p.add_argument("--list", action="store_true", help="print the combination names")
    p.add_argument("--values", action="append", default=[], type=Path, metavar="FILE",
                   help="a values file, YAML or JSON (repeatable)")
    p.add_argument("--set-json", action="append", default=[], metavar="JSON",
                   help="a JSON object of values (repeatable)")
    p.add_argument("--name", default="emrex", help="release name (default emrex)")
    p.add_argument("--namespace", default="emrex-system", help="release namespace")
    p.add_argument("--kube-version", default=None,
                   help="render for this Kubernetes version (e.g. v1.20.2), as for that cluster")
    p.add_argument("--lint", action="store_true",
                   help="also lint (strict: a warning fails) with the same values")
    p.add_argument("--output", choices=["json", "yaml"], default="json")
    p.add_argument("--yaml-to-json", type=Path, metavar="FILE",
                   help="print FILE's YAML documents as a JSON list and exit")
    p.add_argument("--helm", choices=["install", "upgrade", "uninstall"],
                   help="run this Helm action against the cluster of --kubeconfig")
    p.add_argument("--kubeconfig", type=Path, help="kubeconfig for --helm")
    args = p.parse_args(argv)

    if args.yaml_to_json:
        print(json.dumps(yaml_docs(args.yaml_to_json.read_text())))
        return 0

    try:
        combinations = load_combinations(args.combinations)
    except (OSError, ValueError) as e:
        print(f"render.py: {args.combinations}: {e}", file=sys.stderr)
        return 2
    if args.list:
        print("\n".join(combinations))
        return 0

    def values_for(names: list[str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for n in names:
            values = merge(values, combinations[n])
        for f in args.values:
            values = merge(values, helm.values_from_yaml(f.read_text()))
        for s in args.set_json:
            obj = json.loads(s)
            if not isinstance(obj, dict):
                raise ValueError(f"--set-json needs a JSON object: {s}")
            values = merge(values, obj)
        return values

    unknown = [n for n in args.combination if n not in combinations]
    if unknown:
        print(f"render.py: unknown combination(s) {unknown}; known: {list(combinations)}",
              file=sys.stderr)
        return 2
    if args.helm:
        if not args.kubeconfig:
            print("render.py: --helm needs --kubeconfig", file=sys.stderr)
            return 2
        try:
            print(json.dumps(helm_action(args, values_for(args.combination))))
        except helm.HelmError as e:
            print(f"render.py: helm {args.helm}: {e}".rstrip(), file=sys.stderr)
            return 1
        return 0
    if args.all and args.output != "json":
        print("render.py: --all prints JSON only", file=sys.stderr)
        return 2

    runs = {n: [n] for n in combinations} if args.all else {"": args.combination}
    results: dict[str, Any] = {}
    status = 0
    for label, names in runs.items():
        try:
            values = values_for(names)
            result = render(args.chart, values, args.name, args.namespace, args.kube_version,
                            args.lint)
        except helm.HelmError as e:
            print(f"render.py: {label or 'values'}: {e}".rstrip(), file=sys.stderr)
            return 1
        except (OSError, ValueError) as e:
            print(f"render.py: {e}", file=sys.stderr)
            return 2
        problems = lint_problems(result)
        if problems:
            print(f"render.py: lint {label or ''}:\n  " + "\n  ".join(problems), file=sys.stderr)
            status = 1
        results[label] = result

    if args.output == "yaml":
        sys.stdout.write(as_yaml(results[""]))
    else:
        for r in results.values():
            r.pop("_manifests", None)
        print(json.dumps(results if args.all else results[""]))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
