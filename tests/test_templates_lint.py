"""Project check (STYLE.md rule 25): every CSS class a template puts on an element is defined
by a stylesheet under static/ (the project's own and the vendored ones). A class nobody
defines is a typo or a missing style: the element looks unstyled, and nothing else says so.

Classes are read from ``class="..."`` attributes, including what Jinja builds where it can be
known without running it: the text around ``{% if %}`` tags (``field{% if err %} has-error{%
endif %}`` uses field and has-error) and string constants an expression outputs (``{{ 'button'
if x else 'secondary' }}``). A class glued to a dynamic part (``notice-{{ category }}``) is
skipped: its name is only known at run time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from jinja2 import Environment, TemplateSyntaxError, nodes

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"

# -- stylesheets -----------------------------------------------------------------------------

_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
_CSS_CLASS = re.compile(r"\.((?:-?[_a-zA-Z]|\\.)(?:[\w-]|\\.)*)")


def css_classes(css: str) -> set[str]:
    """The classes the selectors of a stylesheet name (at-rule preludes and declarations
    are not selectors; ``@media`` blocks' own rules are)."""
    css = _CSS_STRING.sub('""', _CSS_COMMENT.sub(" ", css))
    found: set[str] = set()
    prelude = []
    for char in css:
        if char == "{":
            text = "".join(prelude).strip()
            if text and not text.startswith("@"):
                found |= {re.sub(r"\\(.)", r"\1", name) for name in _CSS_CLASS.findall(text)}
            prelude = []
        elif char in "};":
            prelude = []
        else:
            prelude.append(char)
    return found


def defined_classes() -> set[str]:
    return {name for path in STATIC.rglob("*.css") for name in css_classes(path.read_text(encoding="utf-8"))}


# -- templates -------------------------------------------------------------------------------

_ATTRIBUTE = re.compile(r"(?<![\w-])class\s*=\s*([\"'])")
_JINJA_COMMENT = re.compile(r"{#.*?#}", re.S)
_JINJA = re.compile(r"({{.*?}}|{%.*?%})", re.S)
_ENV = Environment()


def _attribute_values(source: str) -> Iterator[tuple[int, str]]:
    """(line, value) of every ``class="..."``; Jinja inside the value may hold quotes."""
    for match in _ATTRIBUTE.finditer(source):
        quote, position = match.group(1), match.end()
        while position < len(source) and source[position] != quote:
            closing = {"{{": "}}", "{%": "%}"}.get(source[position:position + 2])
            position = source.index(closing, position + 2) + 2 if closing else position + 1
        yield source.count("\n", 0, match.start()) + 1, source[match.end():position]


def _outputs(node: nodes.Node) -> Iterator[str]:
    """The string constants an expression can output as a whole (not filter arguments)."""
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, nodes.CondExpr):
        yield from _outputs(node.expr1)
        if node.expr2 is not None:
            yield from _outputs(node.expr2)
    elif isinstance(node, (nodes.Or, nodes.And)):
        yield from _outputs(node.left)
        yield from _outputs(node.right)


def _expression_constants(part: str) -> list[str]:
    try:
        template = _ENV.parse("{{ " + part[2:-2].strip("-+ \n") + " }}")
    except TemplateSyntaxError:
        return []
    return [text for output in template.body for node in output.nodes for text in _outputs(node)]


def _next_text(parts: list[str], index: int, step: int) -> str | None:
    """The next literal text from ``index`` in direction ``step`` across ``{% %}`` tags (None
    at the edge; "\\0" when an expression comes first: unknown)."""
    index += step
    while 0 <= index < len(parts):
        if index % 2 == 0:
            if parts[index]:
                return parts[index]
        elif parts[index].startswith("{{"):
            return "\0"
        index += step
    return None


def classes_in(value: str) -> set[str]:
    """The classes of one attribute value that are known without running the template."""
    parts = _JINJA.split(value)  # even: literal text; odd: {{ }} or {% %}
    found: set[str] = set()
    for index, part in enumerate(parts):
        if index % 2 == 1:
            if part.startswith("{{"):
                before = parts[index - 1]
                after = parts[index + 1] if index + 1 < len(parts) else ""
                if (not before or before[-1].isspace()) and (not after or after[0].isspace()):
                    found |= {name for text in _expression_constants(part) for name in text.split()}
            continue
        words = part.split()
        if not words:
            continue
        if not part[0].isspace():
            previous = _next_text(parts, index, -1)
            if previous is not None and not previous[-1].isspace():
                words = words[1:]  # glued to what comes before: not a whole name
        if words and not part[-1].isspace():
            following = _next_text(parts, index, +1)
            if following is not None and not following[0].isspace():
                words = words[:-1]
        found |= set(words)
    return found


def used_classes() -> dict[str, list[str]]:
    """class -> where it is used (``template:line``)."""
    used: dict[str, list[str]] = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        source = _JINJA_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), path.read_text(encoding="utf-8"))
        for line, value in _attribute_values(source):
            for name in classes_in(value):
                used.setdefault(name, []).append(f"{path.relative_to(TEMPLATES)}:{line}")
    return used


# -- the checks ------------------------------------------------------------------------------

def test_every_class_in_a_template_is_defined_by_a_stylesheet():
    defined = defined_classes()
    missing = {name: places for name, places in used_classes().items() if name not in defined}
    assert not missing, "classes that no stylesheet under static/ defines:\n" + "\n".join(
        f"  .{name}: {', '.join(places)}" for name, places in sorted(missing.items()))


def test_the_check_reads_selectors():
    css = """/* .commented */ .a, p.b:hover > .c::after { content: ".not-a-class"; }
             @media (max-width: 40.5rem) { .d { margin: .5rem } } .e\\:f { } [class~="g"] { }"""
    assert css_classes(css) == {"a", "b", "c", "d", "e:f"}


def test_the_check_reads_what_jinja_builds_where_it_is_known():
    assert classes_in("field{% if err %} has-error{% endif %}") == {"field", "has-error"}
    assert classes_in("{{ 'button' if primary else 'secondary' }}") == {"button", "secondary"}
    assert classes_in("notice notice-{{ category }}") == {"notice"}
    assert classes_in("timeline-{{ e.kind|replace(':', '-') }}") == set()
    assert classes_in("a{% if x %}-wide{% endif %} b") == {"b"}
    html = '<p class="x {{ "y" if z }}" data-class="no"><span class=\'w\'>'
    assert [classes_in(value) for _line, value in _attribute_values(html)] == [{"x", "y"}, {"w"}]
