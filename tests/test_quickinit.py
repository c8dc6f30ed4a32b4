"""Model objects built by `quick_init`'s __init__ are the ones the dataclass's own __init__ builds."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import datetime, timezone

import pytest

from siptrace.rules import findings
from siptrace.model import sip as model
from siptrace.model import values
from siptrace.model.quickinit import quick_init

CLASSES = [obj for mod in (model, values, findings) for obj in vars(mod).values()
           if isinstance(obj, type) and obj.__module__ == mod.__name__ and dataclasses.is_dataclass(obj)
           and hasattr(obj.__init__, "__wrapped__")]

WHEN = datetime(2026, 11, 3, 13, 32, 10, tzinfo=timezone.utc)
ORIGIN = model.Origin("fe.log", 12, 345)


def _value(f: dataclasses.Field):  # type: ignore[type-arg]
    """A value of the right kind for a field, different from its default."""
    kind = str(f.type)
    if "Origin" in kind:
        return ORIGIN
    if "datetime" in kind:
        return WHEN
    if "Headers" in kind:
        return model.Headers((("Call-ID", "abc"),))
    if "Severity" in kind:
        return findings.Severity.ERROR
    if "Kind" in kind:
        return model.Kind.OTHER
    if "int" in kind:
        return 7
    if "tuple" in kind:
        return (("a", "b"),)
    return f"{f.name}-value"


def _by_dataclass(cls, **kwargs):  # type: ignore[no-untyped-def]
    obj = object.__new__(cls)
    cls.__init__.__wrapped__(obj, **kwargs)
    return obj


def test_the_model_classes_use_quick_init():
    names = {cls.__name__ for cls in CLASSES}
    assert {"Origin", "Record", "SipMessage", "Headers", "Uri", "NameAddr", "Via", "Finding", "Evidence"} <= names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_field_is_set_as_the_dataclass_sets_it(cls):
    init_fields = [f for f in dataclasses.fields(cls) if f.init]
    full = {f.name: _value(f) for f in init_fields}
    fast, slow = cls(**full), _by_dataclass(cls, **full)
    required = {f.name: full[f.name] for f in init_fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    fast_min, slow_min = cls(**required), _by_dataclass(cls, **required)
    for a, b in ((fast, slow), (fast_min, slow_min)):
        for f in dataclasses.fields(cls):
            assert getattr(a, f.name) == getattr(b, f.name), f.name
        assert a == b and hash(a) == hash(b)
    assert fast != fast_min or not init_fields or len(required) == len(init_fields)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_objects_stay_frozen(cls):
    f = dataclasses.fields(cls)[0]
    obj = cls(**{g.name: _value(g) for g in dataclasses.fields(cls) if g.init})
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, f.name, _value(f))


def test_wrong_arguments_are_refused_as_the_dataclass_refuses_them():
    with pytest.raises(TypeError):
        model.Origin("fe.log")                                   # missing line
    with pytest.raises(TypeError):
        model.Origin("fe.log", 1, 0, "extra")
    with pytest.raises(TypeError):
        model.SipMessage(ORIGIN, WHEN, "INVITE sip:a@b SIP/2.0")  # keyword-only
    with pytest.raises(TypeError):
        model.Headers(fields=(), colour="red")


def test_a_default_factory_gives_each_object_its_own_value():
    a = model.SipMessage(origin=ORIGIN, time=None, start_line="BYE sip:a@b SIP/2.0")
    b = model.SipMessage(origin=ORIGIN, time=None, start_line="BYE sip:a@b SIP/2.0")
    assert a.headers == model.Headers() and a.headers is not b.headers
    assert a._memo is None


def test_the_signature_shown_is_the_dataclass_one():
    params = inspect.signature(model.SipMessage).parameters
    assert params["origin"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["version"].default == "SIP/2.0"


def test_classes_it_cannot_speed_up_are_refused():
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        x: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        x: int

        def __post_init__(self) -> None:
            pass

    for cls in (NoSlots, Checked):
        with pytest.raises(TypeError):
            quick_init(cls)
