"""The compiled kernel's build cache: a failed build is not retried at once (no compiler
stays no compiler), but it is retried after a while, and a full disk or an interrupted
build never blocks the next try."""

from __future__ import annotations

import errno
import os
import time

import pytest

from ppipe.sim import _jit

NAME = _jit._AOT_PREFIX + "test0000"
FILE = NAME + ".so"


def _fake_build(calls: list, fail: BaseException | None = None):
    def build(module, kfs, exports, name, dest):
        calls.append(name)
        if fail is not None:
            raise fail
        (dest / FILE).write_bytes(b"built")
    return build


def test_recent_failure_blocks_an_old_one_is_retried(tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(_jit, "_build", _fake_build(calls))
    marker = tmp_path / (NAME + ".failed")
    marker.write_text("CompilerError: no cc\n")
    with pytest.raises(RuntimeError, match="an earlier build failed"):
        _jit._build_locked("m", [], [], NAME, FILE, [tmp_path])
    assert calls == []
    old = time.time() - _jit.FAILED_RETRY_S - 60
    os.utime(marker, (old, old))
    assert _jit._build_locked("m", [], [], NAME, FILE, [tmp_path]) == tmp_path / FILE
    assert calls == [NAME] and not marker.exists()


@pytest.mark.parametrize("exc, marked", [
    (OSError(errno.ENOSPC, "No space left on device"), False),
    (MemoryError(), False),
    (RuntimeError("cc: error: unknown option"), True),
])
def test_only_lasting_failures_leave_a_marker(tmp_path, monkeypatch, exc, marked):
    monkeypatch.setattr(_jit, "_build", _fake_build([], fail=exc))
    with pytest.raises(type(exc)):
        _jit._build_locked("m", [], [], NAME, FILE, [tmp_path])
    assert (tmp_path / (NAME + ".failed")).exists() == marked


def test_a_cause_chain_counts():
    try:
        try:
            raise OSError(errno.EDQUOT, "Disk quota exceeded")
        except OSError as inner:
            raise RuntimeError("build failed") from inner
    except RuntimeError as outer:
        assert _jit._transient(outer)
    assert not _jit._transient(ValueError("bad"))
