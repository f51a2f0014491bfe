"""Checkpoints: Equinox serialisation + JSON metadata + sha256, written atomically.

A checkpoint is a directory::

    meta.json        format version, model config, bar borders, training config and step,
                     for every blob its sha256, size and parts, and the sha256 of the rest
                     of meta.json itself (``meta_sha256``, checked on reading)
    model.eqx        the model's arrays (``eqx.tree_serialise_leaves``), possibly split into
                     ``model.eqx.000``, ``model.eqx.001``, ... of at most ``shard_bytes`` each
    opt_state.eqx    the optimiser state (training checkpoints only), split likewise

No pickle is involved: arrays are read back into a skeleton built from the config, and every
blob's sha256 is checked before it is deserialised. Writing goes to a fresh sibling
directory that then replaces the old checkpoint with two renames, so a crash leaves either
the old or the new checkpoint (``load`` falls back to ``<dir>.old`` if the swap was cut off).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import numpy as np

from .._io import fsync_dir

FORMAT_VERSION = 1
_DEFAULT_SHARD = 15 * 2**20  # under the 16 MiB file limit of common transfer channels


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupted, or does not match what is asked of it."""


def _blob_bytes(tree: Any) -> bytes:
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, tree)
    return buffer.getvalue()


# what a checkpoint directory (or one cut off mid-save) holds, and nothing else but the files
# a desktop drops into any folder it shows
_CHECKPOINT_FILE = re.compile(
    r"(meta\.json|(model|opt_state)\.eqx(\.\d{3})?|\.DS_Store|Thumbs\.db|desktop\.ini)"
)


def _replaceable(directory: Path) -> bool:
    """Whether ``directory`` may be deleted to make room for a checkpoint: absent, or a
    directory holding checkpoint files only (an empty one too). Anything else there (a run's
    log, the user's notes, a subfolder) would be lost."""
    if not directory.exists() and not directory.is_symlink():
        return True
    if directory.is_symlink() or not directory.is_dir():
        return False
    return all(
        child.is_file() and not child.is_symlink() and _CHECKPOINT_FILE.fullmatch(child.name)
        for child in directory.iterdir()
    )


def _write_blob(directory: Path, name: str, data: bytes, shard_bytes: int) -> dict:
    parts = []
    if len(data) <= shard_bytes:
        (directory / name).write_bytes(data)
        parts.append(name)
    else:
        for i, start in enumerate(range(0, len(data), shard_bytes)):
            part = f"{name}.{i:03d}"
            (directory / part).write_bytes(data[start : start + shard_bytes])
            parts.append(part)
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "parts": parts}


def save(
    path: str | os.PathLike,
    *,
    model: Any,
    meta: dict,
    opt_state: Any = None,
    shard_bytes: int = _DEFAULT_SHARD,
) -> Path:
    """Write a checkpoint directory atomically (see the module docstring).

    Args:
        path: the checkpoint directory (created, or replaced if it holds a checkpoint).
        model: the Equinox model.
        meta: JSON-serialisable metadata (config, borders, training state); ``format`` and
            ``blobs`` are added.
        opt_state: optional optimiser state to store beside the model.
        shard_bytes: the largest file written; bigger blobs are split into parts.

    Returns:
        The checkpoint directory.

    Raises:
        CheckpointError: if ``path`` (or its ``.tmp`` / ``.old`` sibling) exists and holds
            anything but checkpoint files: nothing is deleted that a save did not write.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    old = path.with_name(path.name + ".old")
    for where in (path, tmp, old):  # each is deleted below: only if it holds a checkpoint
        if not _replaceable(where):
            raise CheckpointError(
                f"{where} exists and is not a PFN checkpoint (it holds other files); saving "
                "there would delete them: choose a new directory"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    blobs = {"model.eqx": _write_blob(tmp, "model.eqx", _blob_bytes(model), shard_bytes)}
    if opt_state is not None:
        blobs["opt_state.eqx"] = _write_blob(
            tmp, "opt_state.eqx", _blob_bytes(opt_state), shard_bytes
        )
    full = dict(meta, format=FORMAT_VERSION, blobs=blobs)
    (tmp / "meta.json").write_text(_meta_text(full))
    for child in tmp.iterdir():
        with open(child, "rb") as handle:
            os.fsync(handle.fileno())
    fsync_dir(tmp)
    if path.exists():
        shutil.rmtree(old, ignore_errors=True)
        path.rename(old)
    tmp.rename(path)
    fsync_dir(path.parent)
    shutil.rmtree(old, ignore_errors=True)
    return path


def _meta_digest(meta: dict) -> str:
    """The sha256 of the metadata's content (its JSON with sorted keys and no spaces), less
    the digest itself and the ``_path`` a reader adds: the bar borders, the config and the
    tail scales shape every answer, so they are checked as the weights are."""
    content = {k: v for k, v in meta.items() if k not in ("meta_sha256", "_path")}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _meta_text(meta: dict) -> str:
    """``meta.json``'s text: ``meta`` (less a reader's ``_path``) with its digest."""
    content = {k: v for k, v in meta.items() if k != "_path"}
    content["meta_sha256"] = _meta_digest(content)
    return json.dumps(content, indent=1, sort_keys=True)


def write_meta(path: str | os.PathLike, meta: dict) -> None:
    """Replace a checkpoint's ``meta.json`` with ``meta`` (atomically), its digest
    recomputed: how a tool changes a checkpoint's metadata (``tools/fit_tail_scales.py``)."""
    from .._io import atomic_write_text

    atomic_write_text(_resolve(Path(path)) / "meta.json", _meta_text(meta))


def _resolve(path: Path) -> Path:
    if (path / "meta.json").is_file():
        return path
    old = path.with_name(path.name + ".old")
    if (old / "meta.json").is_file():  # a save was interrupted between its two renames
        return old
    raise CheckpointError(f"no checkpoint at {path} (expected {path / 'meta.json'})")


def read_checkpoint_meta(path: str | os.PathLike) -> dict:
    """The metadata of a checkpoint (``meta.json``: its training config, step, borders and
    training record), after checking its format version.

    Raises:
        CheckpointError: if the metadata is missing, unreadable or of another format.
    """
    path = _resolve(Path(path))
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CheckpointError(f"cannot read {path / 'meta.json'}: {error}") from None
    if not isinstance(meta, dict):
        raise CheckpointError(
            f"{path / 'meta.json'} holds a JSON {type(meta).__name__}, not a checkpoint's "
            "metadata (an object): not a scalebayes PFN checkpoint"
        )
    if meta.get("format") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {meta.get('format')!r}; this scalebayes reads "
            f"format {FORMAT_VERSION}"
        )
    # checkpoints written before 2026-12-07 have no digest of their metadata: read as before
    if "meta_sha256" in meta and meta["meta_sha256"] != _meta_digest(meta):
        raise CheckpointError(
            f"{path / 'meta.json'} was modified after it was written (its content no longer "
            "matches its meta_sha256): its borders or config may have changed; restore the "
            "file, or export the checkpoint again"
        )
    meta["_path"] = str(path)
    return meta


def require(meta: dict, keys: tuple[str, ...], reader: Any) -> Any:
    """``reader(meta)`` after checking that ``meta`` has ``keys``; a missing key, or a value
    ``reader`` cannot read, is a ``CheckpointError`` that names the file (not a PFN
    checkpoint, or one written by another tool)."""
    where = Path(meta.get("_path", "?")) / "meta.json"
    missing = [key for key in keys if key not in meta]
    if missing:
        raise CheckpointError(
            f"{where} has no {', '.join(map(repr, missing))}: not a scalebayes PFN checkpoint "
            "(or one written by another tool)"
        )
    try:
        return reader(meta)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{where} cannot be read as a PFN checkpoint: {error}") from None


def non_finite_arrays(tree: Any) -> int:
    """How many floating-point arrays of ``tree`` hold a value that is not finite (checked on
    the host: nothing to compile, where an eager reduction per array compiled one program per
    shape, 0.7 s of a cold ``PFN.load``)."""
    leaves = jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_inexact_array))
    return sum(not np.isfinite(np.asarray(leaf)).all() for leaf in leaves)


def check_finite(tree: Any, path: str) -> None:
    """A ``CheckpointError`` if any floating-point array of ``tree`` is not finite (the
    weights of a run that diverged)."""
    bad = non_finite_arrays(tree)
    if bad:
        raise CheckpointError(
            f"{path}: {bad} weight arrays are not finite (a training run that "
            "diverged); retrain with a lower learning rate (--lr)"
        )


def _read_blob(path: Path, name: str, info: dict) -> bytes:
    well_formed = (
        isinstance(info, dict)
        and isinstance(info.get("parts"), list)
        and all(isinstance(part, str) for part in info["parts"])
        and isinstance(info.get("bytes"), int)
        and isinstance(info.get("sha256"), str)
    )
    if not well_formed:
        raise CheckpointError(
            f"{path / 'meta.json'} describes {name} without its parts, size and sha256: the "
            "metadata is damaged or was edited"
        )
    chunks = []
    for part in info["parts"]:
        try:
            chunks.append((path / part).read_bytes())
        except OSError as error:
            raise CheckpointError(f"checkpoint {path} is missing {part}: {error}") from None
    data = b"".join(chunks)
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != info["bytes"] or digest != info["sha256"]:
        raise CheckpointError(
            f"checksum mismatch for {name} in {path}: the file is corrupted or was "
            f"modified (sha256 {digest}, expected {info['sha256']})"
        )
    return data


def load_tree(meta: dict, name: str, like: Any) -> Any:
    """Read blob ``name`` of the checkpoint described by ``meta`` into the skeleton ``like``."""
    path = Path(meta["_path"])
    blobs = meta.get("blobs", {})
    if name not in blobs:
        raise CheckpointError(f"checkpoint {path} has no {name}")
    data = _read_blob(path, name, blobs[name])
    try:
        return eqx.tree_deserialise_leaves(io.BytesIO(data), like)
    except Exception as error:  # shape/dtype mismatch between config and stored arrays
        raise CheckpointError(
            f"{name} in {path} does not match its config: {type(error).__name__}: {error}"
        ) from None
