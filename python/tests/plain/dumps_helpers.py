"""What the test_dumps_*.py files share: a class fast_serde does not know (``Unknown``) and
an int subclass whose ``__int__`` and ``__index__`` lie (``MyInt``)."""

from __future__ import annotations


class Unknown:
    """A type fast_serde does not know; module level so its __qualname__ == __name__."""

    def __init__(self, payload=None):
        self.payload = payload


class MyInt(int):
    def __int__(self):
        return 999

    def __index__(self):
        return 999
