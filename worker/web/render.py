"""Pure helpers of the pages: an article's text with its annotations marked, bar charts.

No HTML is built here: these return plain structures that the templates render, and
Jinja2 escapes every string, so a stored `<script>` can only ever show as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mark:
    """An entity mention, amount or date: `kind` entity/amount/date, with what to show."""

    start: int
    end: int
    kind: str
    label: str = ""  # PER, ORG, LOC, MISC; money or percent; the ISO date
    entity_id: int | None = None
    title: str = ""


@dataclass(frozen=True)
class QuoteSpan:
    start: int
    end: int
    speaker: str | None
    speaker_entity_id: int | None = None


@dataclass
class Node:
    """Text, a mark (`mark` set) or a quote (`quote` set, with `children`)."""

    text: str = ""
    mark: Mark | None = None
    quote: QuoteSpan | None = None
    children: list[Node] = field(default_factory=list)


def _disjoint(spans: list, start: int, end: int) -> list:
    """The spans inside [start, end), in order, dropping any that overlaps an earlier one."""
    out, pos = [], start
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if span.start >= pos and span.end <= end and span.end > span.start:
            out.append(span)
            pos = span.end
    return out


def _inline(text: str, start: int, end: int, marks: list[Mark]) -> list[Node]:
    out, pos = [], start
    for mark in _disjoint(marks, start, end):
        if mark.start > pos:
            out.append(Node(text[pos:mark.start]))
        out.append(Node(text[mark.start:mark.end], mark=mark))
        pos = mark.end
    if pos < end:
        out.append(Node(text[pos:end]))
    return out


def paragraphs(text: str, marks: list[Mark], quotes: list[QuoteSpan]) -> list[list[Node]]:
    """The text cut into paragraphs (one a line), each a list of nodes: quotes hold the
    marks inside them; a mark across a quote's edge or a paragraph break is dropped."""
    out, start = [], 0
    while start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if text[start:end].strip():
            nodes, pos = [], start
            for quote in _disjoint(quotes, start, end):
                nodes += _inline(text, pos, quote.start, marks)
                nodes.append(Node(quote=quote,
                                  children=_inline(text, quote.start, quote.end, marks)))
                pos = quote.end
            nodes += _inline(text, pos, end, marks)
            out.append(nodes)
        start = end + 1
    return out


def marks_of(record: dict) -> tuple[list[Mark], list[QuoteSpan]]:
    """The marks and quotes of an article record (the export record's annotations)."""
    marks = [Mark(m["start"], m["end"], "entity", e["label"], e["id"], e["canonical_name"])
             for e in record["entities"] for m in e["mentions"]]
    marks += [Mark(a["start"], a["end"], "amount", a["kind"], None, amount_text(a))
              for a in record["amounts"]]
    marks += [Mark(d["start"], d["end"], "date", d["value"], None, d["value"])
              for d in record["dates"]]
    quotes = [QuoteSpan(q["start"], q["end"], q["speaker"], q.get("speaker_entity_id"))
              for q in record["quotes"]]
    return marks, quotes


def amount_text(amount: dict) -> str:
    """675000000 USD → '675 000 000 USD'; 12.5 percent → '12.5 %'."""
    value = amount["amount"]
    shown = f"{value:,.0f}".replace(",", "\u202f") if float(value).is_integer() else f"{value:g}"
    unit = amount["currency"] or ("%" if amount["kind"] == "percent" else "")
    return f"{shown} {unit}".strip()


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    top: int  # the largest value (the axis' top)
    first: str
    last: str
    total: int


def bar_chart(points: list[tuple[str, int]], width: int = 720, height: int = 140) -> Chart:
    """Bars for (label, value) points, left to right, scaled to the largest value."""
    top = max((value for _, value in points), default=0)
    step = width / max(1, len(points))
    bars = []
    for i, (label, value) in enumerate(points):
        h = 0.0 if top == 0 else (height - 2) * value / top
        bars.append(Bar(round(i * step + 1, 2), round(height - h, 2), round(max(1.0, step - 2), 2),
                        round(h, 2), label, value))
    return Chart(width, height, bars, top, points[0][0] if points else "",
                 points[-1][0] if points else "", sum(v for _, v in points))
