"""The one failure ``fast-serde inspect`` reports: :class:`InspectError`, as one line."""

from __future__ import annotations

__all__ = ["InspectError", "one_line", "unknown_thread"]


class InspectError(Exception):
    """A failure reported to the user as one line on stderr, with exit status 1."""


def one_line(text: str) -> str:
    """``text`` (str) with every run of whitespace, newlines included, made one space."""
    return " ".join(text.split())


def unknown_thread(thread_id: str, ns: str) -> str:
    """The message (str) for a thread with no checkpoints in namespace ``ns``."""
    where = f" in namespace {ns!r}" if ns else ""
    return f"unknown thread {thread_id!r}{where} (no checkpoints; run without --thread to list threads)"
