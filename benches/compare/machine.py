"""The machine record printed with every run and written into docs/benchmarks.md: CPU, cores,
load average, OS, Python, and the versions of fast-serde (with its git revision) and of every
library compared."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

from . import ROOT


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
            check=True,
        ).stdout.strip()
        edited = subprocess.run(
            ["git", "diff", "HEAD", "--name-only", "--", ".", ":!docs/benchmarks.*"], cwd=ROOT,
            capture_output=True, text=True, check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    if not edited:
        return rev
    # The measured tree is not a commit: name what differs from it, so a reader can tell
    # whether the numbers are those of the commit that adds this report.
    shown = ", ".join(edited[:6]) + (f" and {len(edited) - 6} more" if len(edited) > 6 else "")
    return f"{rev}, with local edits to {shown}"


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    physical = ""
    try:
        text = Path("/proc/cpuinfo").read_text()
        if m := re.search(r"^model name\s*:\s*(.+)$", text, re.M):
            cpu = m.group(1).strip()
        if m := re.search(r"^cpu cores\s*:\s*(\d+)$", text, re.M):
            physical = f", {m.group(1)} core(s) per socket reported"
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    try:
        load = "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = "unknown"
    return {
        "CPU": cpu,
        "cores": f"{os.cpu_count()} logical CPUs, {usable} usable by this process{physical}",
        "load average at start (1/5/15 min)": load,
        "OS": platform.platform(),
        "Python": f"{platform.python_implementation()} {platform.python_version()} "
        f"({platform.python_compiler()}, {sys.executable})",
        "fast-serde": f"{_version('fast-serde')} (git {_git_revision()})",
        "langgraph-checkpoint": _version("langgraph-checkpoint"),
        "langgraph": _version("langgraph"),
        "langchain-core": _version("langchain-core"),
        "ormsgpack": _version("ormsgpack"),
        "msgspec": _version("msgspec"),
        "pydantic": f"{_version('pydantic')} (pydantic-core {_version('pydantic-core')})",
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
