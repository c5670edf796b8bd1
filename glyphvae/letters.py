"""The 24 letters of the Greek alphabet: names, characters and the aliases users type.

Every public function that takes a letter accepts any alias and resolves it with
:func:`resolve_letter` to the canonical lowercase English name (``"epsilon"``), which
is also the folder name used by the data loader and the name of the shipped presets.

>>> resolve_letter("ε"), resolve_letter("Epsilon"), resolve_letter("E")
('epsilon', 'epsilon', 'epsilon')
>>> LETTERS["sigma"].lower
'σ'
>>> len(LETTER_NAMES), LETTER_NAMES[:3], LETTERS["epsilon"].index
(24, ('alpha', 'beta', 'gamma'), 4)
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

__all__ = ["LETTERS", "LETTER_NAMES", "Letter", "resolve_letter"]


@dataclass(frozen=True)
class Letter:
    """One Greek letter.

    Attributes:
        name: Canonical lowercase English name, e.g. ``"epsilon"``.
        index: Position in the alphabet, 0 (alpha) to 23 (omega). Also the class id
            used by glyphvae's letter classifier.
        lower: The lowercase Greek character, e.g. ``"ε"``.
        upper: The uppercase Greek character, e.g. ``"Ε"``.
        aliases: Other accepted spellings (case-insensitive), variant characters and
            unambiguous one-letter Latin transliterations.
    """

    name: str
    index: int
    lower: str
    upper: str
    aliases: tuple[str, ...] = ()


# name, lowercase, uppercase, extra aliases. One-letter Latin aliases are given only where
# the Latin letter points to one Greek letter both by transliteration and by shape; H, O, P,
# X, Y and C are left out on purpose (eta/h, omicron/omega, rho/pi, chi/xi, upsilon, lunate sigma).
_TABLE: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("alpha", "α", "Α", ("a",)),
    ("beta", "β", "Β", ("b", "ϐ")),
    ("gamma", "γ", "Γ", ("g",)),
    ("delta", "δ", "Δ", ("d",)),
    ("epsilon", "ε", "Ε", ("e", "ϵ")),
    ("zeta", "ζ", "Ζ", ("z",)),
    ("eta", "η", "Η", ()),
    ("theta", "θ", "Θ", ("th", "ϑ")),
    ("iota", "ι", "Ι", ("i",)),
    ("kappa", "κ", "Κ", ("k", "ϰ")),
    ("lambda", "λ", "Λ", ("l", "lamda", "lamdba")),
    ("mu", "μ", "Μ", ("m", "my", "µ")),
    ("nu", "ν", "Ν", ("n", "ny")),
    ("xi", "ξ", "Ξ", ("ks",)),
    ("omicron", "ο", "Ο", ("omikron",)),
    ("pi", "π", "Π", ("ϖ",)),
    ("rho", "ρ", "Ρ", ("r", "ϱ")),
    ("sigma", "σ", "Σ", ("s", "ς", "ϲ", "Ϲ")),
    ("tau", "τ", "Τ", ("t",)),
    ("upsilon", "υ", "Υ", ("ypsilon", "ϒ")),
    ("phi", "φ", "Φ", ("ph", "ϕ")),
    ("chi", "χ", "Χ", ("kh", "ch")),
    ("psi", "ψ", "Ψ", ("ps",)),
    ("omega", "ω", "Ω", ()),
)

LETTERS: dict[str, Letter] = {
    name: Letter(name=name, index=i, lower=lo, upper=up, aliases=extra)
    for i, (name, lo, up, extra) in enumerate(_TABLE)
}
"""All 24 letters keyed by canonical name, in alphabetical (Greek) order."""

LETTER_NAMES: tuple[str, ...] = tuple(LETTERS)
"""Canonical names in Greek alphabetical order: ``("alpha", "beta", ..., "omega")``."""


def _key(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip()).casefold()


def _build_alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for letter in LETTERS.values():
        for alias in (letter.name, letter.lower, letter.upper, *letter.aliases):
            key = _key(alias)
            if key in table and table[key] != letter.name:
                raise RuntimeError(f"Ambiguous alias {alias!r}: {table[key]} and {letter.name}")
            table[key] = letter.name
    return table


_ALIASES = _build_alias_table()


def resolve_letter(letter: str | Letter) -> str:
    """Return the canonical name of a letter given any accepted alias.

    Args:
        letter: A name in any case (``"Epsilon"``), a Greek character (``"ε"``,
            ``"Ε"``, ``"ϲ"``), an unambiguous Latin letter (``"E"``) or a
            :class:`Letter`.

    Returns:
        The canonical lowercase English name, e.g. ``"epsilon"``.

    Raises:
        ValueError: If the letter is unknown; the message lists the valid names.
        TypeError: If ``letter`` is not a string.

    >>> resolve_letter("ϲ")  # lunate sigma, as written on papyri
    'sigma'
    """
    if isinstance(letter, Letter):
        return letter.name
    if not isinstance(letter, str):
        raise TypeError(
            f"Expected `letter` to be a string such as 'epsilon' or 'ε'. "
            f"Received: {letter!r} of type {type(letter).__name__}"
        )
    name = _ALIASES.get(_key(letter))
    if name is None:
        raise ValueError(
            f"Expected a Greek letter: one of {', '.join(LETTER_NAMES)} "
            f"(or its Greek character, e.g. 'ε'). Received: {letter!r}"
        )
    return name
