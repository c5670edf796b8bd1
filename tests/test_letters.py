import pytest

from glyphvae.letters import LETTER_NAMES, LETTERS, resolve_letter


def test_24_letters_in_greek_order():
    assert len(LETTERS) == 24
    assert LETTER_NAMES[0] == "alpha" and LETTER_NAMES[-1] == "omega"
    assert [LETTERS[n].index for n in LETTER_NAMES] == list(range(24))


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("epsilon", "epsilon"),
        ("Epsilon", "epsilon"),
        ("EPSILON", "epsilon"),
        (" ε ", "epsilon"),
        ("Ε", "epsilon"),
        ("E", "epsilon"),
        ("e", "epsilon"),
        ("ϲ", "sigma"),
        ("ς", "sigma"),
        ("lamda", "lambda"),
        ("Ω", "omega"),
    ],
)
def test_aliases_resolve(alias, name):
    assert resolve_letter(alias) == name


def test_every_letter_resolves_from_its_characters():
    for letter in LETTERS.values():
        assert resolve_letter(letter.lower) == letter.name
        assert resolve_letter(letter.upper) == letter.name
        assert resolve_letter(letter.name.upper()) == letter.name


@pytest.mark.parametrize("ambiguous", ["H", "O", "P", "X", "Y", "C"])
def test_ambiguous_latin_letters_are_rejected(ambiguous):
    with pytest.raises(ValueError, match="Expected a Greek letter"):
        resolve_letter(ambiguous)


def test_unknown_letter_message_lists_valid_names():
    with pytest.raises(ValueError) as info:
        resolve_letter("epsylon")
    message = str(info.value)
    assert "'epsylon'" in message
    assert all(name in message for name in LETTER_NAMES)


def test_non_string_is_a_type_error():
    with pytest.raises(TypeError, match="Received: 5"):
        resolve_letter(5)  # type: ignore[arg-type]
