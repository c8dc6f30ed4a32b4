"""A faster ``__init__`` for the model's frozen, slotted dataclasses.

A frozen dataclass sets each field with ``object.__setattr__``, which looks
the attribute up again on every call: building a record and its SIP message
(some 35 fields) costs about three times what it would without ``frozen``,
and a day of traces builds millions of them.  `quick_init` replaces the
generated ``__init__`` with one of the same signature that sets each slot
through its own descriptor.  The class is left as it was: frozen (assignment
still raises), hashed and compared as before.
"""

from __future__ import annotations

from dataclasses import MISSING, fields, is_dataclass
from typing import Any, TypeVar

C = TypeVar("C", bound=type)


def quick_init(cls: C) -> C:
    """Class decorator, applied above ``@dataclass(frozen=True, slots=True, ...)``."""
    if not is_dataclass(cls) or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: quick_init needs a dataclass with slots")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: quick_init does not run __post_init__")
    space: dict[str, Any] = {"_MISSING": MISSING}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for f in fields(cls):
        name = f.name
        space[f"_set_{name}"] = cls.__dict__[name].__set__
        if f.default is not MISSING:
            space[f"_default_{name}"] = f.default
            value, param = f"_default_{name}", f"{name}=_default_{name}"
        elif f.default_factory is not MISSING:
            space[f"_factory_{name}"] = f.default_factory
            value, param = f"_factory_{name}()", f"{name}=_MISSING"
            if f.init:
                body.append(f"    if {name} is _MISSING:\n        {name} = _factory_{name}()")
        elif not f.init:
            continue      # no value at all: left unset, as the dataclass leaves it
        else:
            value, param = name, name
        if f.init:
            (keyword if f.kw_only else positional).append(param)
            value = name
        body.append(f"    _set_{name}(self, {value})")
    params = ["self", *positional] + (["*", *keyword] if keyword else [])
    source = f"def __init__({', '.join(params)}):\n" + "\n".join(body or ["    pass"]) + "\n"
    exec(source, space)   # noqa: S102 - code made from the class's own field names only
    init = space["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    init.__wrapped__ = cls.__init__    # the dataclass's own: its signature, and a reference for tests
    setattr(cls, "__init__", init)    # noqa: B010 - a method put in place after the class is made
    return cls


__all__ = ["quick_init"]
