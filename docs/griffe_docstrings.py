"""A griffe extension for the API pages: glyphvae's docstrings, shown as Markdown.

glyphvae's docstrings are Google style with two habits that Markdown does not read:

* doctest examples as bare ``>>>`` lines (they run under ``pytest --doctest-modules``);
  Markdown would show them as three nested block quotes, so each run of them is wrapped
  in a ``pycon`` fence;
* Sphinx roles such as ``:func:`~glyphvae.hub.from_pretrained```; each becomes an
  *optional* cross-reference: a link when the target is documented on the site, inline code
  otherwise (never a broken link);
* reStructuredText's ``text::`` before an indented literal block loses one colon.

mkdocstrings loads this file (``extensions`` in ``mkdocs.yml``) and the source files are not
changed.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const|type):`(?P<tilde>~?)"
    r"(?P<target>[\w.]+)(?P<call>\(\))?`"
)


def fence_doctests(text: str) -> str:
    """Wrap each unfenced run of ``>>>`` lines (up to the next blank line) in a fence.

    Only examples at the left margin are wrapped; indented ones belong to a section (such
    as ``Examples:``) that griffe parses itself.

    >>> fence_doctests("Text.\\n\\n>>> 1 + 1\\n2").splitlines()
    ['Text.', '', '```pycon', '>>> 1 + 1', '2', '```']
    """
    out: list[str] = []
    fenced = in_example = False
    for line in text.splitlines():
        stripped = line.lstrip()
        if in_example and not stripped:
            out.append("```")
            in_example = False
        if not in_example and stripped.startswith("```"):
            fenced = not fenced
        elif not fenced and not in_example and line.startswith(">>>"):
            out.append("```pycon")
            in_example = True
        out.append(line)
    if in_example:
        out.append("```")
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def convert_roles(text: str, scope: str) -> str:
    """Turn Sphinx roles into optional cross-references (outside code fences).

    A name without a dot is looked up in ``scope`` (the module or class of the docstring).

    >>> convert_roles("See :func:`~glyphvae.hub.pull`.", "glyphvae.x")
    'See <autoref identifier="glyphvae.hub.pull" optional><code>pull</code></autoref>.'
    >>> convert_roles(":meth:`generate`", "glyphvae.models.GlyphVAE")[:56]
    '<autoref identifier="glyphvae.models.GlyphVAE.generate" '
    """

    def replace(match: re.Match[str]) -> str:
        target = match["target"].lstrip(".")
        shown = target.rsplit(".", 1)[-1] if match["tilde"] else target
        if not target.startswith("glyphvae") and "." not in target:
            target = f"{scope}.{target}"
        shown += match["call"] or ""
        return f'<autoref identifier="{target}" optional><code>{shown}</code></autoref>'

    out, fenced = [], False
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        out.append(line if fenced else _ROLE.sub(replace, line))
    return "".join(out)


def markdown_docstring(text: str, scope: str) -> str:
    """All three conversions (see the module docstring)."""
    text = re.sub(r"(?m)(\S)::$", r"\1:", text)
    return fence_doctests(convert_roles(text, scope))


class DocstringsAsMarkdown(griffe.Extension):
    """Rewrites the docstring of every loaded object with :func:`markdown_docstring`."""

    def _fix(self, obj: griffe.Object) -> None:
        if obj.is_alias or obj.docstring is None:
            return
        scope = obj.path if obj.is_module or obj.is_class or obj.parent is None else obj.parent.path
        obj.docstring.value = markdown_docstring(obj.docstring.value, scope)

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        self._fix(obj)

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self._fix(pkg)  # the top-level package is not passed to on_object
