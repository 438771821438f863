"""Numbers as English words and back, for the offline brain.

:func:`say_number` speaks an exact or decimal value (``Fraction``: ``-7`` → "minus seven",
``10/4`` → "two point five", ``10/3`` → "about three point three three"); :func:`to_words` an
integer ("four hundred and eight"). :func:`find_numbers` finds the numbers in a sentence, in
words ("a hundred and five", "two thousand three hundred", "three point five", "thirty-four")
or digits ("1,000", "7", "2.5"), and returns the sentence with each replaced by ``#``.
"""

from __future__ import annotations

import re
from fractions import Fraction

_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINALS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_WORD_VALUES = {word: value for value, word in enumerate(_UNITS)}
_WORD_VALUES.update({word: 10 * value for value, word in enumerate(_TENS) if value >= 2})
_WORD_VALUES["oh"] = 0  # only after "point"
_SCALE_VALUES = {"hundred": 100, "thousand": 1000, "million": 10**6}


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    if n >= 100:
        words += [_UNITS[n // 100], "hundred"]
        n %= 100
        if n:
            words.append("and")
    if n >= 20:
        words.append(_TENS[n // 10])
        if n % 10:
            words.append(_UNITS[n % 10])
    elif n or not words:
        words.append(_UNITS[n])
    return words


def to_words(n: int) -> str:
    """``n`` in words: 408 → "four hundred and eight", -3 → "minus three"."""
    if n < 0:
        return "minus " + to_words(-n)
    if n >= 10**15:
        return " ".join(_UNITS[int(digit)] for digit in str(n))
    words: list[str] = []
    for scale, name in _SCALES:
        if n >= scale:
            words += _below_thousand(n // scale) + [name]
            n %= scale
    if n or not words:
        if words and n < 100:
            words.append("and")
        words += _below_thousand(n)
    return " ".join(words)


def ordinal(n: int) -> str:
    """1 → "first", 22 → "twenty second", 30 → "thirtieth"."""
    words = to_words(n).split()
    last = words[-1]
    if last in _ORDINALS:
        words[-1] = _ORDINALS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def year_words(year: int) -> str:
    """2026 → "twenty twenty six", 2005 → "two thousand and five", 1900 → "nineteen hundred"."""
    if 2000 <= year < 2010 or year % 1000 == 0 or not 1000 <= year < 10000:
        return to_words(year)
    high, low = divmod(year, 100)
    if low == 0:
        return f"{to_words(high)} hundred"
    return f"{to_words(high)} {'oh ' if low < 10 else ''}{to_words(low)}"


def say_number(value: Fraction, places: int = 2) -> str:
    """``value`` spoken; non-integers to ``places`` decimals, with "about" when rounded."""
    if value.denominator == 1:
        return to_words(value.numerator)
    scaled = int(abs(value) * 10**places + Fraction(1, 2))  # half away from zero
    whole, fraction = divmod(scaled, 10**places)
    digits = f"{fraction:0{places}d}".rstrip("0")
    exact = Fraction(scaled, 10**places) == abs(value)
    words = ("" if exact else "about ") + ("minus " if value < 0 else "") + to_words(whole)
    if digits:
        words += " point " + " ".join(_UNITS[int(d)] for d in digits)
    return words


# -- reading ------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+(?:'[a-z]+)?|[^\sa-z\d]", re.ASCII)


def tokenize(text: str) -> list[str]:
    """Lower-case words, digit runs (``1,000`` → ``1000``) and single symbols."""
    text = text.lower()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text, flags=re.ASCII)
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)  # thirty-four
    return _TOKEN.findall(text)


class _Reader:
    """Accumulates one number in words or digits."""

    def __init__(self) -> None:
        self.total = 0
        self.current = 0
        self.decimals = ""
        self.words = 0  # tokens taken
        self.in_decimals = False

    @property
    def value(self) -> Fraction:
        integer = Fraction(self.total + self.current)
        if self.decimals:
            integer += Fraction(int(self.decimals), 10 ** len(self.decimals))
        return integer

    def take(self, token: str, following: str | None, join_and: bool) -> bool:
        """Adds ``token`` if it continues this number."""
        if self.in_decimals:
            value = _WORD_VALUES.get(token)
            if value is not None and value < 10 and token not in _TENS:
                self.decimals += str(value)
                self.words += 1
                return True
            return False
        if "0" <= token[0] <= "9":
            if self.words:
                return False
            whole, _, decimals = token.partition(".")
            self.current = int(whole)
            self.decimals = decimals
            self.words = 1
            return True
        if token == "a" and not self.words and following in _SCALE_VALUES:
            self.current = 1
            self.words = 1
            return True
        if token == "and":
            return (
                join_and
                and self.words > 0
                and (self.total > 0 or self.current >= 100)
                and self.current % 100 == 0
                and following in _WORD_VALUES
                and following != "oh"
            )
        if token == "point" and self.words and not self.decimals and following in _WORD_VALUES:
            self.in_decimals = True
            self.words += 1
            return True
        if token in _SCALE_VALUES:
            scale = _SCALE_VALUES[token]
            if not self.words or self.decimals:
                return False
            if scale == 100:
                if self.current % 100 == 0 and self.current:
                    return False  # "two hundred hundred"
                self.current = (self.current or 1) * 100
            else:
                if not self.current or self.current * scale > 10**9:
                    return False
                self.total += (self.current or 1) * scale
                self.current = 0
            self.words += 1
            return True
        value = _WORD_VALUES.get(token)
        if value is None or token == "oh":
            return False
        if self.decimals:
            return False
        low = self.current % 100
        if self.words and (low and not (low % 10 == 0 and low >= 20 and value < 10)):
            return False  # "five twelve": two numbers
        if self.words and low == 0 and self.current == 0 and self.total == 0:
            return False  # "zero five"
        self.current += value
        self.words += 1
        return True


def find_numbers(text: str, join_and: bool = True) -> tuple[str, list[Fraction]]:
    """``text`` as a skeleton of words with ``#`` for each number, and the numbers.
    ``join_and``: "a hundred and five" is one number (else two, joined by "and")."""
    tokens = tokenize(text)
    skeleton: list[str] = []
    numbers: list[Fraction] = []
    index = 0
    while index < len(tokens):
        reader = _Reader()
        end = index
        while end < len(tokens):
            following = tokens[end + 1] if end + 1 < len(tokens) else None
            if not reader.take(tokens[end], following, join_and):
                break
            end += 1
        if reader.words:
            numbers.append(reader.value)
            skeleton.append("#")
            index = end
        else:
            skeleton.append(tokens[index])
            index += 1
    return " ".join(skeleton), numbers
