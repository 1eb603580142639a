"""The package's shape: imports point down the layers of DESIGN.md and never run in a circle.

Every ``import`` counts wherever it stands (module level, inside a function, under ``TYPE_CHECKING``):
each is a dependency a reader has to follow. Importing ``dreamloom.a.b`` is a dependency on the module
``dreamloom.a.b`` only, not on the package ``dreamloom.a`` that holds it.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

import dreamloom

SOURCE = Path(dreamloom.__file__).resolve().parent

LAYERS: tuple[tuple[int, tuple[str, ...]], ...] = (
    # foundations: typed settings, errors, the random draws, the bundled example configs, the version
    (0, ("dreamloom.settings", "dreamloom.errors", "dreamloom.draws", "dreamloom.examples", "dreamloom.version")),
    (1, ("dreamloom.dsl",)),
    (2, ("dreamloom.plan",)),
    # the weights registry, and the readers of the pictures and videos that settings and prompts name
    (3, ("dreamloom.models", "dreamloom.sources", "dreamloom.video_frames")),
    # plain loss functions, below everything that differentiates through them
    (4, ("dreamloom.losses",)),
    (5, ("dreamloom.perception", "dreamloom.images", "dreamloom.animation", "dreamloom.audio")),
    (6, ("dreamloom.engine",)),
    (7, ("dreamloom.output",)),
    (8, ("dreamloom.render", "dreamloom.failures", "dreamloom.preview", "dreamloom.cli", "dreamloom.studio", "dreamloom")),
)
"""A module's layer is that of the longest prefix naming it; it may import modules of its own layer or lower."""

def source_modules(root: Path = SOURCE) -> dict[str, Path]:
    """Dotted name -> file of every module under the package folder ``root`` (a package is its __init__)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imports(tree: ast.Module, package: str, modules: Collection[str]) -> Iterator[str]:
    """The package's modules that the import statements of ``tree`` name, wherever the statements stand.

    ``from x import y`` names the module ``x.y`` when there is one, else the module ``x``; ``package`` is the
    package a relative import starts from.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                name = f"{base}.{alias.name}"
                if name in modules:
                    yield name
                elif base in modules:
                    yield base


def import_graph(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """importer -> the modules of the package it imports."""
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = set(_imports(tree, package, modules)) - {name}
    return graph


def layer_of(module: str) -> int | None:
    """The layer of the longest prefix in LAYERS that names ``module``; None when none does."""
    matches = [(len(prefix), layer) for layer, prefixes in LAYERS for prefix in prefixes
               if module == prefix or module.startswith(prefix + ".")]
    return max(matches)[1] if matches else None


def upward_imports(graph: Mapping[str, set[str]]) -> list[str]:
    """One line for each import of a module from a higher layer than the importer's."""
    problems = []
    for importer, targets in sorted(graph.items()):
        for target in sorted(targets):
            own, other = layer_of(importer), layer_of(target)
            if own is not None and other is not None and other > own:
                problems.append(f"{importer} (layer {own}) imports {target} (layer {other})")
    return problems


def import_circles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Groups of two or more modules that import one another, directly or not (Tarjan's SCCs), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = [stack.pop()]
            while group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                circles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(circles)


def describe_circles(graph: Mapping[str, set[str]]) -> list[str]:
    """Each circle with the imports that close it, for the failure message."""
    lines = []
    for circle in import_circles(graph):
        edges = [f"    {a} -> {b}" for a in circle for b in sorted(graph[a] & set(circle))]
        lines.append(" / ".join(circle) + "\n" + "\n".join(edges))
    return lines


def package_graph(graph: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """The module graph folded onto the top-level packages (``dreamloom.images.vqgan.x`` -> ``dreamloom.images``)."""
    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    folded: dict[str, set[str]] = {}
    for importer, targets in graph.items():
        folded.setdefault(package(importer), set()).update(package(t) for t in targets)
    return {name: targets - {name} for name, targets in folded.items()}


def test_every_module_has_a_layer() -> None:
    unplaced = [name for name in source_modules() if layer_of(name) is None]
    assert not unplaced, f"give these modules a layer in LAYERS: {unplaced}"


def test_imports_point_down_the_layers() -> None:
    problems = upward_imports(import_graph(source_modules()))
    assert not problems, "imports against the layer order:\n" + "\n".join(problems)


def test_no_import_circles() -> None:
    circles = describe_circles(import_graph(source_modules()))
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_no_import_circles_between_packages() -> None:
    """Within one layer packages may import one another, but only one way round (images -> losses)."""
    circles = describe_circles(package_graph(import_graph(source_modules())))
    assert not circles, "import circles between packages:\n" + "\n".join(circles)


def _planted_copy(tmp_path: Path, module: str, line: str) -> dict[str, set[str]]:
    """The import graph of a copy of the package with ``line`` appended to ``module``."""
    copy = tmp_path / "dreamloom"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("*.pyc", "*.safetensors"))
    target = copy.joinpath(*module.split(".")[1:]).with_suffix(".py")
    target.write_text(target.read_text(encoding="utf-8") + line, encoding="utf-8")
    return import_graph(source_modules(copy))


def test_a_planted_upward_import_is_reported(tmp_path: Path) -> None:
    planted = "\n\ndef _late():\n    from dreamloom.engine import step\n"  # inside a function: counts too
    graph = _planted_copy(tmp_path, "dreamloom.losses.weighting", planted)
    assert upward_imports(graph) == [
        "dreamloom.losses.weighting (layer 4) imports dreamloom.engine.step (layer 6)"
    ]


def test_a_planted_circle_is_reported(tmp_path: Path) -> None:
    planted = "\nif TYPE_CHECKING:\n    from dreamloom.losses.latent import latent_loss\n"
    graph = _planted_copy(tmp_path, "dreamloom.losses.direct", planted)
    assert import_circles(graph) == [["dreamloom.losses.direct", "dreamloom.losses.latent"]]
    assert describe_circles(graph) == [
        "dreamloom.losses.direct / dreamloom.losses.latent\n"
        "    dreamloom.losses.direct -> dreamloom.losses.latent\n"
        "    dreamloom.losses.latent -> dreamloom.losses.direct"
    ]


def test_a_planted_circle_between_packages_is_reported(tmp_path: Path) -> None:
    planted = "\n\ndef _late():\n    from dreamloom.perception import masks\n"
    graph = _planted_copy(tmp_path, "dreamloom.images.pictures", planted)
    assert import_circles(graph) == []  # masks imports nothing of images; perception.guide imports pictures
    assert import_circles(package_graph(graph)) == [["dreamloom.images", "dreamloom.perception"]]


def test_relative_and_package_imports_resolve_to_modules() -> None:
    modules = {"dreamloom": Path(), "dreamloom.a": Path(), "dreamloom.a.b": Path(), "dreamloom.a.c": Path()}
    lines = ["from . import c", "from .c import thing", "from .. import a", "import dreamloom.a.b",
             "from dreamloom.a import helper"]
    tree = ast.parse("\n".join(lines))
    assert sorted(_imports(tree, "dreamloom.a", modules)) == [
        "dreamloom.a", "dreamloom.a", "dreamloom.a.b", "dreamloom.a.c", "dreamloom.a.c"
    ]
