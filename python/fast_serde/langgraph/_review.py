"""Reading what the verified table reviews (`_verified`): each member's source (read once per
code object or class, `_Sources`), what a module global a reviewed function reads is
(`_describe`, part of the member's hash), whether a member is its class's own
(`_own_member`), and what reviewed code reaches one step past its globals (`_reached_deps`), for
the watched set (`_verified_deps`). `_Unverified` is raised wherever the class is not exactly the
reviewed one.

Imports `_verified_deps` only; `_verified` imports it.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import sys
import textwrap
import types
import weakref
from typing import Any

from fast_serde.langgraph._verified_deps import Dep, _call_dep, _function_deps, _lookup


class _Unverified(Exception):
    """The class is not exactly the reviewed one."""


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _describe(value: Any) -> str:
    """What a module global a reviewed function reads is, as recorded in its hash."""
    if isinstance(value, types.ModuleType):
        if sys.modules.get(value.__name__) is not value:
            raise _Unverified(f"global module {value.__name__} is not sys.modules'")
        return f"module {value.__name__}"
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)) and module:
        home = sys.modules.get(module)
        # The object must be what its module names (a replaced class or function is not).
        if home is None or _lookup(home, qualname) is not value:
            raise _Unverified(f"global {module}.{qualname} is not its module's")
        # The kind, not the metaclass's name (typing_extensions' TypedDict metaclass varies).
        return f"{'class' if isinstance(value, type) else 'function'} {module}.{qualname}"
    return f"instance of {type(value).__module__}.{type(value).__qualname__}"


def _function(func: Any) -> types.FunctionType:
    func = getattr(func, "__func__", func)  # a classmethod, or one bound to the class
    if not isinstance(func, types.FunctionType):
        raise _Unverified(f"{func!r} is not a Python function")
    return func


def _own_member(k: type, name: str) -> bool:
    """`vars(k)[name]` is a function defined as `k.<name>` in `k`'s module, running in its
    globals (a wrapper assigned later is defined elsewhere; its code names another function)."""
    try:
        func = _function(vars(k)[name])
    except _Unverified:
        return False
    home = sys.modules.get(k.__module__)
    qualname = f"{k.__qualname__}.{name}"
    return (
        home is not None
        and func.__globals__ is home.__dict__
        and func.__module__ == k.__module__
        and func.__qualname__ == qualname
        and getattr(func.__code__, "co_qualname", qualname) == qualname
    )


class _Sources:
    """`inspect.getsource` of each reviewed function and class, read once per code object or
    class object. Reading a source tokenizes its file (13-37 ms per message class), and every
    change the watched set sees takes the verdicts again: without this, a watched global
    reassigned before every document made each load that slow. What is kept cannot change: a
    code object is immutable, and a class's text is what was read for it (a file edited since
    does not describe the running code anyway). Code objects are held strongly (they refer to
    no class), by identity, at most `MAX` of them (then all are dropped); classes weakly.

    A function's source is only given for the code its file compiles to (`_compiled`): a
    `__code__` replaced by other bytecode that keeps the file name and first line (the file's
    text then reads the same) raises `_Unverified`. `defaults` gives the defaults its source
    writes (literal constants only), for comparison with the function's."""

    MAX = 1024

    def __init__(self) -> None:
        self.code: dict[int, tuple[types.CodeType, str, Any]] = {}
        self.classes: weakref.WeakKeyDictionary[type, str] = weakref.WeakKeyDictionary()
        # Per file name: the file's text and the code compiling it gives (at most MAX files).
        self.files: dict[str, tuple[str, types.CodeType]] = {}

    def clear(self) -> None:
        """Forget every source and file read (`_verified.clear`)."""
        self.code.clear()
        self.classes.clear()
        self.files.clear()

    def __call__(self, obj: types.FunctionType | type) -> str:
        if isinstance(obj, type):
            text = self.classes.get(obj)
            if text is None:
                text = inspect.getsource(obj)
                self.classes[obj] = text
            return text
        code = obj.__code__
        return self._held(obj)[1]

    def defaults(self, func: types.FunctionType) -> tuple[Any, Any]:
        """`(__defaults__, __kwdefaults__)` as `func`'s source writes them (None where it
        writes none); raises `_Unverified` for a default that is not a literal constant."""
        expected = self._held(func)[2]
        if isinstance(expected, str):
            raise _Unverified(expected)
        return expected  # type: ignore[no-any-return]

    def _held(self, func: types.FunctionType) -> tuple[types.CodeType, str, Any]:
        code = func.__code__
        held = self.code.get(id(code))
        if held is not None and held[0] is code:
            return held
        text = inspect.getsource(func)
        if not self._compiled(func):
            raise _Unverified(f"{func.__qualname__}'s code is not what its file compiles to")
        if len(self.code) >= self.MAX:
            self.code.clear()
        held = (code, text, _literal_defaults(func, text))
        self.code[id(code)] = held
        return held

    def _compiled(self, func: types.FunctionType) -> bool:
        """Whether `func.__code__` equals the code object compiling its file gives for the
        function at its name and first line (code objects compare their bytecode, constants,
        names and line tables: `code.__eq__`)."""
        code = func.__code__
        lines, _ = inspect.findsource(func)
        text = "".join(lines)
        held = self.files.get(code.co_filename)
        if held is None or held[0] != text:
            if len(self.files) >= self.MAX:
                self.files.clear()
            held = (text, compile(text, code.co_filename, "exec", dont_inherit=True))
            self.files[code.co_filename] = held
        pending = [held[1]]
        while pending:
            for const in pending.pop().co_consts:
                if isinstance(const, types.CodeType):
                    if const.co_name == code.co_name and const.co_firstlineno == code.co_firstlineno:
                        if const == code:
                            return True
                    pending.append(const)
        return False


def _literal_defaults(func: types.FunctionType, text: str) -> tuple[Any, Any] | str:
    """The defaults `func`'s source `text` writes, as `(__defaults__, __kwdefaults__)`, or why
    they cannot be read (a default that is not a literal constant)."""
    tree = ast.parse(textwrap.dedent(text))
    node = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if node is None or node.name != func.__code__.co_name:
        return f"no definition of {func.__qualname__} in its source"
    args = node.args
    if not all(isinstance(d, ast.Constant) for d in args.defaults) or not all(
        d is None or isinstance(d, ast.Constant) for d in args.kw_defaults
    ):
        return f"{func.__qualname__} has a default that is not a literal constant"
    positional = tuple(d.value for d in args.defaults) or None  # type: ignore[attr-defined]
    keywords = {
        a.arg: d.value for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None
    } or None
    return positional, keywords


def same_defaults(func: types.FunctionType, expected: tuple[Any, Any]) -> bool:
    """Whether `func`'s `__defaults__` and `__kwdefaults__` are `expected` (`_Sources.defaults`),
    value for value, type for type, keys in order."""

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, dict) and isinstance(b, dict):
            return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
        if isinstance(a, tuple) and isinstance(b, tuple):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        return type(a) is type(b) and a == b

    return same(func.__defaults__, expected[0]) and same(func.__kwdefaults__, expected[1])


_source = _Sources()


def _reached_deps(func: types.FunctionType, value: Any, deps: list[Dep]) -> None:
    """What running `func` reaches one step past its module global `value` (a reviewed
    langchain-core function is reviewed itself instead): a module's attributes that `func`'s
    code names (`json.loads`), a class's metaclass's `__call__` (`ToolCall(...)` runs
    typing_extensions' TypedDict metaclass; followed by its `tp_version_tag`) and its own
    attributes (its tag), another library's function's code, defaults and closure cells
    (`typing.cast`)."""
    if isinstance(value, types.ModuleType):
        attrs = vars(value)
        for attr in sorted(_code_names(func.__code__)):
            if attr in attrs:
                deps.append(("item", attrs, attr, attrs[attr]))
                _describe(attrs[attr])  # a function or class there must be what its module names
    elif isinstance(value, type):
        deps.append(_call_dep(type(value)))
        # Its own attributes (`AIMessageChunk.__subclasshook__` for `issubclass`, a helper class's
        # `__init__`): followed by its tag.
        deps.append(("class", value, None, value))
        # Calling it runs its metaclass's `__call__`: `type`'s, a builtin class (typing_extensions'
        # TypedDict metaclass sets `dict`), or a function its metaclass defines.
        for k in type(value).__mro__:
            if "__call__" in vars(k):
                call = vars(k)["__call__"]
                builtin = isinstance(call, type) and call.__module__ == "builtins"
                if k is not type and not builtin and not _own_member(k, "__call__"):
                    raise _Unverified(f"{value.__qualname__}'s metaclass __call__ is replaced")
                break
    elif isinstance(value, types.FunctionType):
        _function_deps(value, deps)
