"""Per-question statistics of an IVR campaign's answered calls, from OCA's call-status ``result`` items.

Each item is {question, type, answer} (provider-facts.md section 4):

- ``multiple_choice``: answer = [{key, title, total}]. OCA lists the menu's keys with how often each was pressed
  in this call, so a key nobody pressed comes with total 0. Totals are taken as given; a key listed without a
  total counts once (listing it is all the answer says). Summary: the split over the keys, zeros included.
- ``collect_number``: answer = digit strings. When every value is a whole number from 1 to 5 the question is a
  rating: average and distribution over 1..5. Otherwise the most frequent values.
- ``record_speach`` (sic): answer = recording URLs. Summary: how many calls left a recording.

Questions keep the order the IVR asks them in; every question of every call is summarised, not only the first.
"""
from collections import Counter
from dataclasses import dataclass, field

RATING_SCALE = range(1, 6)
# Values listed for an open number question (a customer id, an amount): the most frequent ones.
TOP_VALUES = 10


@dataclass
class Choice:
    key: str
    title: str
    count: int
    percent: float


@dataclass
class QuestionStats:
    question: str
    type: str
    kind: str = "choice"  # choice | rating | number | recording
    responses: int = 0  # calls that answered it
    choices: list = field(default_factory=list)  # [Choice]: menu keys, or the 1..5 of a rating, or top values
    average: float | None = None  # ratings only
    _keys: Counter = field(default_factory=Counter, repr=False)
    _titles: dict = field(default_factory=dict, repr=False)
    _values: Counter = field(default_factory=Counter, repr=False)

    @property
    def counted(self):
        """Keypresses (or values) counted over all choices: the scale of the bars."""
        return sum(c.count for c in self.choices)


def summarise(results):
    """[QuestionStats] from the ``result`` lists of answered calls (an iterable of lists)."""
    questions = {}
    for result in results:
        for item in result or []:
            if not isinstance(item, dict):
                continue
            kind = str(item.get("type") or "")
            key = (str(item.get("question") or ""), kind)
            stats = questions.get(key)
            if stats is None:
                stats = questions[key] = QuestionStats(*key)
            _add(stats, item.get("answer"))
    for stats in questions.values():
        _finish(stats)
    return list(questions.values())


def _add(stats, answer):
    answers = answer if isinstance(answer, list) else ([] if answer is None else [answer])
    if stats.type == "multiple_choice" or any(isinstance(a, dict) for a in answers):
        presses = 0
        for choice in answers:
            if not isinstance(choice, dict):
                continue
            key = str(choice.get("key", ""))
            stats._titles.setdefault(key, str(choice.get("title") or ""))
            count = pressed(choice)
            stats._keys[key] += count
            presses += count
        stats.responses += 1 if presses else 0
        return
    values = [str(a).strip() for a in answers if str(a).strip()]
    if values:
        stats.responses += 1
        stats._values.update(values)


def pressed(choice):
    """How often a listed menu key was pressed in one call (0: offered, not pressed)."""
    return _total(choice.get("total"))


def _total(value):
    """A choice's total as given: 0 is 0; absent counts once (the key is listed); unreadable counts nothing."""
    if value is None:
        return 1
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _finish(stats):
    if stats._keys:
        presses = sum(stats._keys.values())
        stats.kind = "choice"
        stats.choices = [Choice(key, stats._titles.get(key, ""), n, _percent(n, presses))
                         for key, n in sorted(stats._keys.items(), key=lambda kv: _sort_key(kv[0]))]
    elif stats.type == "record_speach":
        stats.kind = "recording"
    elif stats._values and all(_rating(v) is not None for v in stats._values):
        stats.kind = "rating"
        counts = Counter()
        for value, n in stats._values.items():
            counts[_rating(value)] += n
        given = sum(counts.values())
        stats.average = round(sum(score * n for score, n in counts.items()) / given, 2)
        stats.choices = [Choice(str(score), "", counts[score], _percent(counts[score], given))
                         for score in RATING_SCALE]
    else:
        stats.kind = "number"
        given = sum(stats._values.values())
        stats.choices = [Choice(value, "", n, _percent(n, given)) for value, n in stats._values.most_common(TOP_VALUES)]


def _rating(value):
    return int(value) if value.isdigit() and int(value) in RATING_SCALE else None


def _percent(n, total):
    return round(100 * n / total, 1) if total else 0.0


def _sort_key(key):
    # Keys 1..9 before 10, then * and #.
    return (0, int(key), "") if key.isdigit() else (1, 0, key)
