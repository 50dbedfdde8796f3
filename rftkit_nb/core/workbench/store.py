"""Where a Workbench's state is kept: changes, autosave, undo, observers, and the on-disk conflict check.

A :class:`ProjectStore` does not know what the state is: its owner hands it three functions, ``read``
(the state now, as a :class:`ProjectState` value the owner will not change), ``assign`` (put a state
back) and ``validate`` (raise :class:`ConfigError` when the whole is not valid). A block of edits inside
:meth:`ProjectStore.change` is one change: validated, written atomically to the project file, pushed on
the undo stack, announced to observers; or, when anything fails, rolled back by assigning the state kept
from before the change, so memory and file never disagree.

The file may be changed behind the notebook's back (a second kernel in the same folder, a hand edit, a
``git checkout``). The content hash of what was last read or written is kept, and an autosave that would
overwrite something else raises :class:`ProjectFileError` instead, rolling the change back. A file that
disappeared is written again: nothing of anyone's is lost by that.

Example::

    >>> from rftkit_nb.core.workbench import Workbench
    >>> wb = Workbench(path=None)
    >>> _ = wb.add_rubric("tone", "1 = polite")
    >>> wb.undo()
    "added rubric 'tone'"
"""

from __future__ import annotations

import contextlib
import os
import shlex
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from rftkit_nb.core.files import FileStamp, atomic_write, canonical_json, locked
from rftkit_nb.core.workbench.project_file import (
    ProjectState,
    disk_stamp,
    file_kind,
    read_project,
    state_to_dict,
)
from rftkit_nb.errors import ConfigError, ProjectFileError

__all__ = ["DEFAULT_PROJECT_FILE", "ProjectStore", "shown_path"]

DEFAULT_PROJECT_FILE = "rftkit.json"
_UNDO_DEPTH = 100


class _Kept(NamedTuple):
    """A state as it was at one moment: the value to put back, and its file content to compare and write."""

    state: ProjectState
    data: dict[str, Any]


class ProjectStore:
    """The change, autosave, undo and observer machinery of one working set, saved to ``path``.

    ``path=None`` keeps everything in memory. Call :meth:`start` once the owner's state exists.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        *,
        read: Callable[[], ProjectState],
        assign: Callable[[ProjectState], None],
        validate: Callable[[], None],
    ) -> None:
        # Absolute, so a later os.chdir (%cd) does not move where the work is saved.
        self.path: Path | None = Path(path).absolute() if path is not None else None
        self.blocked: ProjectFileError | None = None  # why autosave is off, when it is
        self._read, self._assign, self._validate = read, assign, validate
        self._observers: list[Callable[[str], None]] = []
        self._undo: list[tuple[_Kept, str]] = []
        self._stamp: FileStamp | None = None  # the file as last read or written; None: there was none
        self._kept = self._empty = self._keep()

    def start(self) -> None:
        """Open the project file when there is one (a bad one raises :class:`ProjectFileError`)."""
        if self.path is not None and self.path.exists():
            self._load(self.path)
        self._kept = self._keep()

    def block(self, path: str | os.PathLike[str], error: ProjectFileError) -> None:
        """Aim at ``path``, which could not be read (``error``), with autosave off until saved elsewhere."""
        self.path, self.blocked = Path(path).absolute(), error

    # --- reading ---------------------------------------------------------------------------------

    @property
    def autosave_blocked(self) -> str | None:
        """While autosave is off, the one-line reminder that changes are kept in memory only; else None."""
        if self.blocked is None or self.path is None:
            return None
        shown = shown_path(self.path)
        return f"not saved: {shown} could not be read; %rft save OTHER.json to keep this work"

    def to_dict(self) -> dict[str, Any]:
        """The project file's content for the state now."""
        return state_to_dict(self._read())

    def has_work(self) -> bool:
        """Whether the state holds anything (it differs from the empty one the store started with)."""
        return self.to_dict() != self._empty.data

    # --- changes ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def change(self, event: str) -> Iterator[None]:
        """The body's edits as one change: validated, saved, undoable and announced; or rolled back."""
        before = self._kept
        try:
            yield
            self._validate()
        except BaseException:
            self._assign(before.state)
            raise
        self._commit(before, event)

    def undo(self) -> str:
        """Restore the state before the last change; returns the change undone."""
        if not self._undo:
            raise ConfigError("nothing to undo")
        kept, event = self._undo[-1]
        before = self._kept
        self._assign(kept.state)
        self._commit(before, f"undo: {event}", push=False)
        self._undo.pop()
        return event

    def observe(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(event)`` after every change."""
        self._observers.append(callback)

    def unobserve(self, callback: Callable[[str], None]) -> None:
        """Stop calling ``callback``; a callback that is not observing is left alone (closing twice is fine)."""
        if callback in self._observers:
            self._observers.remove(callback)

    def notify(self, event: str) -> None:
        """Tell every observer ``event``; one that raises is reported as a warning, the change stays."""
        for callback in list(self._observers):
            try:
                callback(event)
            except Exception as e:  # one broken widget must not undo a saved change
                warnings.warn(f"workbench observer {callback!r} failed: {e!r}", RuntimeWarning, stacklevel=3)

    # --- files -----------------------------------------------------------------------------------

    def open(self, path: str | os.PathLike[str], *, discard: bool = False) -> None:
        """Replace the state with the project file at ``path`` and autosave there from now on.

        While autosave is blocked, work that is only in memory is not dropped unless ``discard=True``.
        """
        target = Path(path).absolute()
        if self.blocked is not None and not discard and self.has_work():
            shown = shown_path(target)
            raise ConfigError(f"not opening {shown}: this notebook's work is not saved (autosave is off); "
                              f"%rft save OTHER.json first, or %rft open {shown} --discard to drop it")  # fmt: skip
        self._load(target)
        self.path, self.blocked, self._undo = target, None, []
        self._kept = self._keep()
        self.notify(f"opened {target}")

    def save(self, path: str | os.PathLike[str] | None = None, *, overwrite: bool = False) -> Path:
        """Write the project file to ``path`` (default: the current one), which becomes the autosave target.

        Writing over the current file when it could not be read, or when it changed on disk since it was
        read or written here, needs ``overwrite=True``; so does writing over any other existing file.
        """
        target = Path(path).absolute() if path is not None else self.path
        if target is None:
            raise ConfigError("no project file: pass a path, e.g. save('rftkit.json')")
        same = self.path is not None and os.path.realpath(target) == os.path.realpath(self.path)
        if same and not overwrite:
            if self.blocked is not None:
                raise ProjectFileError(f"{target} could not be read and was left untouched; fix it and open "
                                       "it, save elsewhere, or overwrite it on purpose")  # fmt: skip
        elif not same and not overwrite and (kind := file_kind(target)) is not None:
            shown = shown_path(target)
            fix = f"%rft open {shown} to work on it" if kind == "project" else "save to another file"
            raise ConfigError(f"{shown} already exists and is not this notebook's project file: {fix}, or "
                              f"%rft save {shown} --overwrite to replace it")  # fmt: skip
        with locked(target):
            if same and not overwrite:
                self._check_disk()
            self._stamp = atomic_write(target, canonical_json(self.to_dict()))
        self.path, self.blocked = target, None
        return target

    def write_export(self, path: str | os.PathLike[str], text: str, *, overwrite: bool) -> Path:
        """Write an export to ``path``: never over a project file; over a non-grader file only when told."""
        target = Path(path).absolute()
        shown, kind = shown_path(target), file_kind(target)
        live = self.path is not None and os.path.realpath(target) == os.path.realpath(self.path)
        if live or kind == "project":
            whose = "this notebook's project file" if live else "an rftkit_nb project file"
            raise ConfigError(f"{shown} is {whose}, never exported over; export to another file, "
                              "e.g. %rft export grader.json")  # fmt: skip
        if kind == "other" and not overwrite:
            raise ConfigError(f"{shown} exists and is not a grader JSON: export to another file, or "
                              f"%rft export {shown} --overwrite to replace it")  # fmt: skip
        atomic_write(target, text)
        return Path(path)

    # --- internals -------------------------------------------------------------------------------

    def _keep(self) -> _Kept:
        state = self._read()
        return _Kept(state, state_to_dict(state))

    def _commit(self, before: _Kept, event: str, *, push: bool = True) -> None:
        now = self._keep()
        if now.data == before.data:
            return
        if self.path is not None and self.blocked is None:
            try:
                with locked(self.path):  # check and write as one step: two kernels never both "save"
                    self._check_disk()
                    self._stamp = atomic_write(self.path, canonical_json(now.data))
            except ProjectFileError:
                self._assign(before.state)
                raise
        if push:
            self._undo = [*self._undo[-_UNDO_DEPTH + 1 :], (before, event)]
        self._kept = now
        self.notify(event)

    def _check_disk(self) -> None:
        """Refuse to write over a project file someone else changed since we last read or wrote it."""
        assert self.path is not None
        now = disk_stamp(self.path)
        if now is None or (self._stamp is not None and now.digest == self._stamp.digest):
            return
        shown = shown_path(self.path)
        raise ProjectFileError(
            f"{shown} changed on disk since this notebook loaded it (another kernel or an edit?): "
            f"%rft open {shown} to load it, or %rft save {shown} --overwrite to keep this notebook's version"
        )

    def _load(self, path: Path) -> None:
        state, stamp = read_project(path)
        before = self._read()
        self._assign(state)
        try:  # the whole must be valid too (names unique across kinds: the file may be hand-edited)
            self._validate()
        except ConfigError as e:
            self._assign(before)
            raise ProjectFileError(f"project file {path}: {e}; it was left untouched") from None
        self._stamp = stamp


def shown_path(path: Path) -> str:
    """``path`` as the user would type it in this notebook: relative to the working directory when inside."""
    shown = str(path)
    with contextlib.suppress(ValueError):
        shown = str(path.relative_to(Path.cwd()))
    return shlex.quote(shown)  # a path with spaces still splits as one argument of %rft
