"""The offline brain: a table of phrasings and the replies they get, and spoken numbers."""

from __future__ import annotations

import asyncio
from datetime import datetime
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.brain import FALLBACK, HELP, NOT_HEARD, OfflineBrain, answer
from agent.interfaces import Message
from agent.numbers import find_numbers, ordinal, say_number, to_words, year_words

AFTERNOON = datetime(2026, 12, 7, 15, 45)

TABLE = [
    # arithmetic, in words and digits, many phrasings
    ("What is twelve times thirty four?", "Twelve times thirty four is four hundred and eight."),
    ("what is twelve times thirty-four", "Twelve times thirty four is four hundred and eight."),
    ("What is 12 times 34?", "Twelve times thirty four is four hundred and eight."),
    ("What is 12 x 34?", "Twelve times thirty four is four hundred and eight."),
    ("12 * 34", "Twelve times thirty four is four hundred and eight."),
    ("What's 7 plus 5?", "Seven plus five is twelve."),
    ("what's seven plus five", "Seven plus five is twelve."),
    ("7 + 5", "Seven plus five is twelve."),
    ("Add five and seven.", "Five plus seven is twelve."),
    ("add 5 to 7", "Five plus seven is twelve."),
    ("What's the sum of 2 and 3?", "Two plus three is five."),
    (
        "Divide one thousand by eight.",
        "One thousand divided by eight is one hundred and twenty five.",
    ),
    (
        "What is 1,000 divided by 8?",
        "One thousand divided by eight is one hundred and twenty five.",
    ),
    ("what is 1000 / 8", "One thousand divided by eight is one hundred and twenty five."),
    ("divide 8 into 1000", "One thousand divided by eight is one hundred and twenty five."),
    ("Subtract 3 from 10.", "Ten minus three is seven."),
    ("take three away from ten", "Ten minus three is seven."),
    ("What is ten minus three?", "Ten minus three is seven."),
    ("what is 5 minus 12", "Five minus twelve is minus seven."),
    ("difference between 20 and 5", "Twenty minus five is fifteen."),
    ("Multiply six by seven.", "Six times seven is forty two."),
    ("what is six multiplied by seven", "Six times seven is forty two."),
    ("product of 6 and 7", "Six times seven is forty two."),
    (
        "What is a hundred and five plus two thousand three hundred?",
        "One hundred and five plus two thousand three hundred is "
        "two thousand four hundred and five.",
    ),
    (
        "what is one million minus one",
        "One million minus one is "
        "nine hundred and ninety nine thousand nine hundred and ninety nine.",
    ),
    ("What is one million times one million?", "One million times one million is one trillion."),
    ("what is 10 divided by 4", "Ten divided by four is two point five."),
    ("what is 10 divided by 3", "Ten divided by three is about three point three three."),
    ("What is 2.5 times 4?", "Two point five times four is ten."),
    ("what is three point five plus one", "Three point five plus one is four point five."),
    ("what is ten divided by zero", "Sorry, I can't divide by zero: there is no answer to that."),
    ("What is 5 over 0?", "Sorry, I can't divide by zero: there is no answer to that."),
    ("what is two million plus one", "Sorry, I only do sums with numbers up to a million."),
    # time and date (the clock is injected)
    ("What time is it?", "It's three forty five in the afternoon."),
    ("what's the time", "It's three forty five in the afternoon."),
    ("Tell me the time please.", "It's three forty five in the afternoon."),
    ("What's the date today?", "Today is Monday, the seventh of December, twenty twenty six."),
    ("What day is it?", "Today is Monday, the seventh of December, twenty twenty six."),
    # repeat and spell
    ("Repeat after me, the quick brown fox.", "The quick brown fox."),
    ("repeat after me: hello world", "Hello world"),
    ("Repeat after me.", "Sure, what should I repeat?"),
    ("Spell cat.", "Cat is spelled C, A, T."),
    ("How do you spell the word hello?", "Hello is spelled H, E, L, L, O."),
    ("can you spell it's", "It's is spelled I, T, S."),
    # help, greetings and small talk
    ("What can you do?", HELP),
    ("help", HELP),
    ("Hello!", "Hello! How can I help you today?"),
    ("hi there", "Hello! How can I help you today?"),
    ("Hey.", "Hello! How can I help you today?"),
    ("Good morning!", "Good morning! How can I help you today?"),
    ("good evening", "Good evening! How can I help you today?"),
    ("How are you?", "I'm doing well, thank you. How can I help?"),
    ("Thank you.", "You're welcome!"),
    ("Goodbye.", "Goodbye! It was nice talking to you."),
    # anything else
    ("Tell me a joke.", FALLBACK),
    ("What is the meaning of life?", FALLBACK),
    ("What is this?", FALLBACK),
    ("", NOT_HEARD),
    ("  ...  ", NOT_HEARD),
]


@pytest.mark.parametrize(("said", "reply"), TABLE)
def test_replies(said: str, reply: str) -> None:
    assert answer(said, AFTERNOON) == reply


@pytest.mark.parametrize(
    ("moment", "reply"),
    [
        (datetime(2026, 1, 1, 0, 0), "It's midnight."),
        (datetime(2026, 1, 1, 12, 0), "It's twelve noon."),
        (datetime(2026, 1, 1, 9, 5), "It's nine oh five in the morning."),
        (datetime(2026, 1, 1, 21, 0), "It's nine o'clock in the evening."),
        (datetime(2026, 1, 1, 3, 30), "It's three thirty at night."),
    ],
)
def test_time_of_day(moment: datetime, reply: str) -> None:
    assert answer("what time is it", moment) == reply


def test_dates() -> None:
    assert answer("what's the date", datetime(2005, 3, 1)) == (
        "Today is Tuesday, the first of March, two thousand and five."
    )
    assert answer("what's the date", datetime(2031, 2, 22)) == (
        "Today is Saturday, the twenty second of February, twenty thirty one."
    )


def test_the_brain_streams_sentences_and_answers_the_last_user_message() -> None:
    brain = OfflineBrain(clock=lambda: AFTERNOON)
    history = [
        Message("system", "Be nice."),
        Message("user", "hello"),
        Message("assistant", "Hello! How can I help you today?"),
        Message("user", "What can you do?"),
    ]

    async def collect() -> list[str]:
        return [piece async for piece in brain.reply(history)]

    pieces = asyncio.run(collect())
    assert len(pieces) == 2
    assert "".join(pieces) == HELP


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (40, "forty"),
        (99, "ninety nine"),
        (100, "one hundred"),
        (105, "one hundred and five"),
        (1000, "one thousand"),
        (1005, "one thousand and five"),
        (2300, "two thousand three hundred"),
        (10_001, "ten thousand and one"),
        (1_000_000, "one million"),
        (-42, "minus forty two"),
    ],
)
def test_to_words(n: int, words: str) -> None:
    assert to_words(n) == words
    assert find_numbers(words)[1] == [Fraction(n)] or n < 0


def test_say_number_and_ordinals() -> None:
    assert say_number(Fraction(5, 2)) == "two point five"
    assert say_number(Fraction(-1, 8)) == "about minus zero point one three"
    assert say_number(Fraction(2, 3)) == "about zero point six seven"
    assert [ordinal(n) for n in (1, 2, 3, 5, 12, 20, 21, 30)] == [
        "first", "second", "third", "fifth", "twelfth", "twentieth", "twenty first", "thirtieth",
    ]  # fmt: skip
    assert year_words(1900) == "nineteen hundred" and year_words(1905) == "nineteen oh five"


@pytest.mark.parametrize(
    ("text", "skeleton", "numbers"),
    [
        ("a hundred and five", "#", [105]),
        ("two thousand three hundred", "#", [2300]),
        ("twenty five hundred", "#", [2500]),
        ("1,000,000", "#", [1_000_000]),
        ("2 thousand", "#", [2000]),
        ("five twelve", "# #", [5, 12]),
        ("add five and seven", "add # and #", [5, 7]),
        ("three point one four", "#", [Fraction(314, 100)]),
        ("no numbers here", "no numbers here", []),
    ],
)
def test_find_numbers(text: str, skeleton: str, numbers: list[int | Fraction]) -> None:
    assert find_numbers(text) == (skeleton, [Fraction(n) for n in numbers])


@given(st.integers(min_value=0, max_value=1_000_000))
def test_numbers_read_back_what_they_say(n: int) -> None:
    assert find_numbers(to_words(n)) == ("#", [Fraction(n)])


@given(st.text(max_size=80))
def test_any_text_gets_a_reply(text: str) -> None:
    reply = answer(text, AFTERNOON)
    assert isinstance(reply, str) and reply
