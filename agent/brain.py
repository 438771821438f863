"""The default brain: deterministic, offline, a handful of skills.

Greetings, help ("what can you do"), the time and the date (from an injected clock),
arithmetic on spoken numbers (add, subtract, multiply, divide; words or digits, up to a
million), "repeat after me …", "spell …", and a polite answer for anything else. Replies are
short, with numbers said as words (:mod:`agent.numbers`), streamed a sentence at a time.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from fractions import Fraction

from .interfaces import Message
from .numbers import find_numbers, ordinal, say_number, to_words, year_words

HELP = (
    "I can tell you the time or the date, do sums like twelve times thirty four, "
    "repeat after you, or spell a word. What would you like?"
)
FALLBACK = (
    "Sorry, I can't help with that yet. "
    "You can ask me the time, the date, or a sum like seven plus five."
)
NOT_HEARD = "Sorry, I didn't catch that. Could you say it again?"
LIMIT = 10**6  # the numbers the brain promises to read

_OPERATORS = {"+": "plus", "-": "minus", "*": "times", "/": "divided by"}
# (pattern over the skeleton from find_numbers, operator, operands swapped)
_SUMS: tuple[tuple[re.Pattern[str], str, bool], ...] = tuple(
    (re.compile(pattern), op, swap)
    for pattern, op, swap in (
        (r"# (?:plus|\+|added to) #", "+", False),
        (r"# (?:minus|-|take away|less) #", "-", False),
        (r"# (?:times|x|\*|×|multiplied by) #", "*", False),
        (r"# (?:divided by|/|÷|over) #", "/", False),
        (r"\badd # (?:and|to|plus) #", "+", False),
        (r"\b(?:sum|total) of # and #", "+", False),
        (r"\bsubtract # from #", "-", True),
        (r"\btake # (?:away )?from #", "-", True),
        (r"\bdifference (?:between|of) # and #", "-", False),
        (r"\bmultiply # (?:by|and|with|times) #", "*", False),
        (r"\bproduct of # and #", "*", False),
        (r"\bdivide # by #", "/", False),
        (r"\bdivide # into #", "/", True),
        (r"\bquotient of # and #", "/", False),
    )
)
_GREETINGS = re.compile(r"\b(hello|hi|hey|hiya|howdy|greetings|good (morning|afternoon|evening))\b")


def _words(text: str) -> str:
    """Lower case, letters, digits and spaces only."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def arithmetic(text: str) -> str | None:
    """The spoken answer to a sum in ``text``, or None if it holds none."""
    for join_and in (True, False):
        skeleton, numbers = find_numbers(text, join_and)
        for pattern, op, swap in _SUMS:
            match = pattern.search(skeleton)
            if match is None:
                continue
            first = skeleton[: match.start()].count("#")
            a, b = numbers[first], numbers[first + 1]
            if swap:
                a, b = b, a
            return _answer(a, op, b)
    return None


def _answer(a: Fraction, op: str, b: Fraction) -> str:
    if abs(a) > LIMIT or abs(b) > LIMIT:
        return "Sorry, I only do sums with numbers up to a million."
    if op == "/" and b == 0:
        return "Sorry, I can't divide by zero: there is no answer to that."
    result = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else Fraction(0)}[op]
    phrase = f"{say_number(a)} {_OPERATORS[op]} {say_number(b)}"
    return f"{phrase[0].upper()}{phrase[1:]} is {say_number(result)}."


def _period(hour: int) -> str:
    if hour < 5:
        return "at night"
    if hour < 12:
        return "in the morning"
    if hour < 18:
        return "in the afternoon"
    return "in the evening"


def say_time(moment: datetime) -> str:
    hour12 = moment.hour % 12 or 12
    if moment.minute == 0:
        if moment.hour == 12:
            return "It's twelve noon."
        if moment.hour == 0:
            return "It's midnight."
        return f"It's {to_words(hour12)} o'clock {_period(moment.hour)}."
    minutes = to_words(moment.minute)
    if moment.minute < 10:
        minutes = "oh " + minutes
    return f"It's {to_words(hour12)} {minutes} {_period(moment.hour)}."


def say_date(moment: datetime) -> str:
    return (
        f"Today is {moment:%A}, the {ordinal(moment.day)} of {moment:%B}, "
        f"{year_words(moment.year)}."
    )


def spell(text: str) -> str:
    words = re.findall(r"[A-Za-z0-9']+", text)
    words = [w for w in words if w.lower() not in ("the", "word", "please")] or words
    if not words:
        return "Sure, which word should I spell?"
    spelled = ". ".join(", ".join(ch.upper() for ch in word if ch != "'") for word in words)
    return f"{' '.join(words)} is spelled {spelled}."


def answer(text: str, now: datetime) -> str:
    """The reply to one user utterance."""
    reply = _answer_text(text, now)
    return reply[:1].upper() + reply[1:]


def _answer_text(text: str, now: datetime) -> str:
    said = _words(text)
    if not said:
        return NOT_HEARD
    repeat = re.search(r"\brepeat after me\b[\s,:.!-]*(.*)", text, re.IGNORECASE | re.DOTALL)
    if repeat is not None:
        return repeat.group(1).strip() or "Sure, what should I repeat?"
    spelling = re.search(r"\bspell\b(?: the word)?[\s,:]*(.*)", text, re.IGNORECASE | re.DOTALL)
    if spelling is not None:
        return spell(spelling.group(1))
    sum_answer = arithmetic(text)
    if sum_answer is not None:
        return sum_answer
    if re.search(r"\b(date|what day|which day|day is it|day is today)\b", said):
        return say_date(now)
    if re.search(r"\b(time|what hour|o'clock)\b", said):
        return say_time(now)
    if re.search(r"\b(help|what can you do|what do you do|what are you able|what else)\b", said):
        return HELP
    if re.search(r"\b(who are you|what's your name|what is your name|your name)\b", said):
        return "I'm a small voice agent that runs fully offline. " + HELP
    if re.search(r"\bhow are you\b", said):
        return "I'm doing well, thank you. How can I help?"
    if re.search(r"\b(thanks|thank you|cheers)\b", said):
        return "You're welcome!"
    if re.search(r"\b(bye|goodbye|see you)\b", said):
        return "Goodbye! It was nice talking to you."
    greeting = _GREETINGS.search(said)
    if greeting is not None:
        opening = "Good " + greeting.group(2) if greeting.group(2) else "Hello"
        return f"{opening}! How can I help you today?"
    return FALLBACK


def sentences(text: str) -> list[str]:
    """``text`` cut after each sentence end (each piece keeps its trailing space)."""
    return [piece for piece in re.split(r"(?<=[.!?])(?=\s)", text) if piece]


class OfflineBrain:
    """The deterministic brain; ``clock`` gives the local time (injected for tests)."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock or (lambda: datetime.now().astimezone())

    async def reply(self, history: Sequence[Message]) -> AsyncIterator[str]:
        last = next((m.text for m in reversed(history) if m.role == "user"), "")
        for piece in sentences(answer(last, self.clock())):
            yield piece
