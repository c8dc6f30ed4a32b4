"""One call of a notebook `Trace`: its messages and findings as frames, its headline, ladder and comparison."""

from __future__ import annotations

import functools
from typing import Any, Protocol

import pandas as pd

from ..correlate.calls import Call
from ..correlate.timeline import Timeline
from ..model.context import Context
from ..rules.findings import Finding
from .compare import Comparison, compare, comparison_figure
from .headline import Headline, headline


class Trace(Protocol):
    """What a call view needs of `siptrace.views.notebook.Trace` (named here, so neither imports the other)."""

    timeline: Timeline
    context: Context
    findings_list: list[Finding]

    @property
    def messages(self) -> pd.DataFrame: ...
    @property
    def findings(self) -> pd.DataFrame: ...
    def findings_of(self, call_id: str) -> list[Finding]: ...
    def ladder(self, call_id: str | None = None) -> Any: ...
    def ladder_text(self, call_id: str | None = None, width: int = 100) -> str: ...
    def compare(self, a: str | None = None, b: str | None = None) -> ComparisonView: ...


class CallView:
    """``trace.call(call_id)``: what a notebook asks of one call."""

    def __init__(self, trace: Trace, call: Call) -> None:
        self.trace = trace
        self.call = call

    @property
    def call_id(self) -> str:
        return self.call.call_id

    @functools.cached_property
    def messages(self) -> pd.DataFrame:
        """The trace's messages frame, this call's rows only."""
        df = self.trace.messages
        return df[df["call_id"] == self.call_id].reset_index(drop=True)

    @property
    def finding_list(self) -> list[Finding]:
        return self.trace.findings_of(self.call_id)

    @functools.cached_property
    def findings(self) -> pd.DataFrame:
        """The trace's findings frame, this call's rows only."""
        df = self.trace.findings
        return df[df["call_id"] == self.call_id].reset_index(drop=True)

    @functools.cached_property
    def headline(self) -> Headline:
        return headline(self.trace.timeline, self.call, self.finding_list)

    def ladder(self) -> Any:
        """The call's ladder as a matplotlib Figure, findings marked."""
        return self.trace.ladder(self.call_id)

    def ladder_text(self, width: int = 100) -> str:
        return self.trace.ladder_text(self.call_id, width)

    def compare(self, other: CallView | str) -> ComparisonView:
        """This call beside ``other`` (a `CallView` or a Call-ID), step by step (`siptrace.views.compare`)."""
        other_id = other.call_id if isinstance(other, CallView) else other
        return self.trace.compare(self.call_id, other_id)

    def __repr__(self) -> str:
        return f"<siptrace call {self.call_id}: {self.headline.text()}>"

    def _repr_html_(self) -> str:
        from html import escape

        return f"<div><b>Call {escape(self.call_id)}</b>: {escape(self.headline.text())}</div>"


class ComparisonView:
    """What ``trace.compare(a, b)`` returns: prints as text, draws as both ladders side by side."""

    def __init__(self, trace: Trace, result: Comparison) -> None:
        self.trace = trace
        self.result = result

    @property
    def first(self) -> str | None:
        """The first difference in words, None when the compared steps are alike."""
        return self.result.first.text(self.result.names()) if self.result.first else None

    def text(self, width: int = 120) -> str:
        return self.result.text(width)

    def figure(self) -> Any:
        return comparison_figure(self.trace.timeline, self.result)

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        from html import escape

        return f"<pre>{escape(self.text())}</pre>"


def compare_calls(trace: Trace, a: str, b: str) -> ComparisonView:
    return ComparisonView(trace, compare(trace.timeline, a, b, trace.findings_list, trace.context))


__all__ = ["CallView", "ComparisonView", "compare_calls"]
