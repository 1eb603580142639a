"""Reading tensors out of checkpoint files without ever executing code stored in them.

``.safetensors`` files hold no code. Pickled PyTorch checkpoints are read with ``torch.load(...,
weights_only=True)``, whose unpickler only builds tensors and plain containers. Lightning checkpoints (the
original VQGAN files) also pickle bookkeeping objects — callback classes, ``omegaconf`` configs, numpy
scalars — that weights-only loading refuses. Before loading, the pickle's imports are listed statically
(``pickletools``, nothing is run): names from those bookkeeping libraries are mapped to inert stand-in
classes that merely record their arguments, and any other import (``os.system``, ``builtins.eval``,
``subprocess`` ...) makes the whole file refused.
"""

from __future__ import annotations

import _compat_pickle
import pickle
import pickletools
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, ClassVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from dreamloom.errors import WeightsError

# Imports torch's weights-only unpickler resolves itself (tensors, storages, dtypes, plain containers).
_TORCH_NATIVE = frozenset(
    {"collections.OrderedDict", "collections.Counter", "_codecs.encode"}
    | {f"builtins.{name}" for name in ("set", "complex", "bytearray")}
)
# Libraries whose pickled objects are bookkeeping in training checkpoints; they become inert stand-ins.
_STAND_IN_MODULES = frozenset(
    {"pytorch_lightning", "lightning", "lightning_fabric", "omegaconf", "typing", "argparse", "numpy"}
)
# Dictionary types pickled as "call, then SETITEMS"; rebuilt as plain dicts (their factories are dropped).
_PLAIN_DICTS = frozenset({"collections.defaultdict"})
# Plain builtin types that bookkeeping objects refer to (e.g. omegaconf's ``object_type``).
_STAND_IN_BUILTINS = frozenset(
    f"builtins.{name}"
    for name in ("dict", "list", "tuple", "frozenset", "object", "str", "int", "float", "bool", "bytes")
)
# Protocol-4 imports whose name is computed on the stack; torch refuses them and so does dreamloom.
_DYNAMIC_IMPORT = "a dynamically named global (STACK_GLOBAL)"
# A legacy (non-zip) torch file is: magic number, protocol, sys info, then the object — four pickles.
_LEGACY_PICKLES = 4
# torch's weights-only refusals name the import as "GLOBAL module.name"; its text has ANSI bold codes.
_REFUSED_GLOBAL = re.compile(r"GLOBAL (\S+)")
_ANSI_CODE = re.compile(r"\x1b\[[0-9;]*m")


class PickledStandIn:
    """Inert replacement for a non-tensor object in a checkpoint: it stores what the pickle gave it."""

    original: ClassVar[str] = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> PickledStandIn:
        instance = super().__new__(cls)
        instance.args = args
        return instance

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to initialise: the arguments were kept by ``__new__``."""

    def __setstate__(self, state: Any) -> None:
        self.state = state


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint: its ``state_dict`` entry (Lightning) or its top-level tensors.

    Raises a :class:`WeightsError` naming ``path`` for a truncated, corrupt or unsafe file.
    """
    if path.suffix == ".safetensors":
        return _read_safetensors(path)
    contents = _read_pickled(path)
    if isinstance(contents, dict) and isinstance(contents.get("state_dict"), dict):
        contents = contents["state_dict"]
    if not isinstance(contents, dict):
        raise WeightsError(f"checkpoint {path} holds a {type(contents).__name__}, not a dictionary of weights")
    tensors = {
        key: value for key, value in contents.items() if isinstance(key, str) and isinstance(value, torch.Tensor)
    }
    if not tensors:
        raise WeightsError(f"checkpoint {path} contains no weights")
    return tensors


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as error:
        raise _corrupt(path, error) from error


def _read_pickled(path: Path) -> Any:
    stand_ins = [(_stand_in(name), name) for name in sorted(_foreign_imports(path))]
    try:
        with torch.serialization.safe_globals(stand_ins):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except pickle.UnpicklingError as error:
        raise WeightsError(
            f"checkpoint {path} was refused: {load_failure(error)}. Only use checkpoints from the registered sources."
        ) from error
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise _corrupt(path, error) from error


def _foreign_imports(path: Path) -> set[str]:
    """The pickle imports torch does not resolve itself; raises if one of them could run code."""
    foreign = set()
    for name in _pickle_imports(path):
        if name.startswith("torch.") or name in _TORCH_NATIVE:
            continue
        if name.split(".", 1)[0] in _STAND_IN_MODULES or name in _STAND_IN_BUILTINS | _PLAIN_DICTS:
            foreign.add(name)
            continue
        raise WeightsError(
            f"checkpoint {path} was refused: its pickle imports {name!r}, which a weights file never needs "
            "and which could execute code. Only use checkpoints from the registered sources."
        )
    return foreign


def _pickle_imports(path: Path) -> set[str]:
    """``module.name`` of every GLOBAL opcode, read statically with :mod:`pickletools` (nothing runs)."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                records = [name for name in archive.namelist() if name.endswith("data.pkl")]
                if not records:
                    raise ValueError("no data.pkl record in the archive")
                names: set[str] = set()
                for record in records:
                    with archive.open(record) as stream:
                        names |= _globals_in(stream, pickles=1)
                return names
        with path.open("rb") as stream:
            return _globals_in(stream, pickles=_LEGACY_PICKLES)
    except (ValueError, EOFError, OSError, zipfile.BadZipFile, UnicodeDecodeError) as error:
        raise _corrupt(path, error) from error


def _globals_in(stream: IO[bytes], pickles: int) -> set[str]:
    """Imports named in up to ``pickles`` consecutive pickles of ``stream`` (fewer if the stream ends)."""
    names: set[str] = set()
    for _ in range(pickles):
        if not stream.peek(1):  # type: ignore[attr-defined]
            break
        strings: list[str] = []
        for opcode, argument, _position in pickletools.genops(stream):
            if opcode.name in ("GLOBAL", "INST"):
                module, _, name = str(argument).partition(" ")
                names.add(_python3_name(module, name))
            elif opcode.name == "STACK_GLOBAL":
                names.add(".".join(strings[-2:]) if len(strings) >= 2 else _DYNAMIC_IMPORT)
            if isinstance(argument, str) and "UNICODE" in opcode.name:
                strings.append(argument)
            elif opcode.name not in ("MEMOIZE", "BINPUT", "LONG_BINPUT", "PUT"):
                strings.clear()
    return names


def _python3_name(module: str, name: str) -> str:
    """Apply pickle's Python 2 → 3 renames (protocol-2 files say ``__builtin__`` for ``builtins``)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return f"{module}.{name}"


def _plain_dict(*args: Any) -> dict[Any, Any]:
    """Stand-in for dictionary subclasses: an empty plain dict the unpickler then fills."""
    return {}


def _stand_in(name: str) -> Callable[..., Any]:
    """A distinct inert class per imported name, so stand-ins used as dictionary keys stay distinct."""
    if name in _PLAIN_DICTS:
        return _plain_dict
    return type(name.rsplit(".", 1)[-1], (PickledStandIn,), {"original": name, "__module__": __name__})


def load_failure(error: BaseException) -> str:
    """Why a checkpoint could not be read, in one line: torch's own text is long, carries terminal colour
    codes and advises ``weights_only=False``, which would let the file run code."""
    if isinstance(error, EOFError):
        return "the file is empty or cut short"
    if isinstance(error, pickle.UnpicklingError):
        refused = _REFUSED_GLOBAL.search(str(error))
        if refused is None:
            return "it is not a plain weights file (corrupt, or not a checkpoint)"
        return f"its pickle imports {refused.group(1)!r}, which a weights file never needs and which could run code"
    lines = _ANSI_CODE.sub("", str(error)).strip().splitlines()
    first = lines[0] if lines else type(error).__name__
    return first if len(first) <= 200 else first[:200] + "…"


def _corrupt(path: Path, error: BaseException) -> WeightsError:
    return WeightsError(
        f"checkpoint {path} is truncated or corrupt ({type(error).__name__}: {error}). Delete it and "
        "download it again (`dreamloom models download NAME`)."
    )
