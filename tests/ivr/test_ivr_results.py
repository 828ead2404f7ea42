"""Per-question IVR statistics from OCA call-status results: totals as given, every question, ratings."""
import pytest

from webapp.campaigns.ivr_results import summarise

MENU = "Tekan 1 puas, tekan 2 tidak puas"
RATE = "Nilai layanan kami dari 1 sampai 5"


def menu(*totals, titles=("Puas", "Tidak Puas")):
    return {"question": MENU, "type": "multiple_choice",
            "answer": [{"key": str(i + 1), "title": titles[i], "total": t} for i, t in enumerate(totals)]}


def number(*values, question=RATE):
    return {"question": question, "type": "collect_number", "answer": list(values)}


def splits(stats):
    return [(c.key, c.count, c.percent) for c in stats.choices]


@pytest.mark.parametrize("calls, expected", [
    # The case: one call pressed 1; key 2 listed with total 0 is no press.
    ([[menu(1, 0)]], [("1", 1, 100.0), ("2", 0, 0.0)]),
    ([[menu(1, 0)], [menu(0, 1)], [menu(1, 0)]], [("1", 2, 66.7), ("2", 1, 33.3)]),
    ([[menu(0, 0)]], [("1", 0, 0.0), ("2", 0, 0.0)]),  # heard the menu, pressed nothing
    ([[menu(2, 0)]], [("1", 2, 100.0), ("2", 0, 0.0)]),  # pressed 1 twice (the menu repeated)
    ([[menu("1", "0")]], [("1", 1, 100.0), ("2", 0, 0.0)]),  # totals as strings
    ([[{"question": MENU, "type": "multiple_choice", "answer": [{"key": "1", "title": "Puas"}]}]],
     [("1", 1, 100.0)]),  # a key listed without a total: listing it is the press
])
def test_menu_totals_are_taken_as_given(calls, expected):
    [stats] = summarise(calls)
    assert stats.kind == "choice" and splits(stats) == expected


def test_menu_responses_count_calls_that_pressed_something():
    [stats] = summarise([[menu(1, 0)], [menu(0, 0)], [menu(0, 1)]])
    assert stats.responses == 2


def test_every_question_is_summarised_in_ivr_order():
    record = {"question": "Sampaikan saran Anda", "type": "record_speach",
              "answer": ["https://storage.oca.co.id/audio/a.wav"]}
    calls = [[menu(1, 0), number("5"), record, number("12345", question="Nomor pelanggan")],
             [menu(0, 1), number("2"), {**record, "answer": []}, number("12345", question="Nomor pelanggan")],
             [menu(1, 0), number("4")]]
    choice, rating, recording, open_number = summarise(calls)
    assert (choice.kind, splits(choice)) == ("choice", [("1", 2, 66.7), ("2", 1, 33.3)])
    assert (rating.kind, rating.responses, rating.average) == ("rating", 3, 3.67)
    assert splits(rating) == [("1", 0, 0.0), ("2", 1, 33.3), ("3", 0, 0.0), ("4", 1, 33.3), ("5", 1, 33.3)]
    assert (recording.kind, recording.responses) == ("recording", 1)
    assert (open_number.kind, splits(open_number)) == ("number", [("12345", 2, 100.0)])


def test_a_number_outside_one_to_five_is_no_rating():
    [stats] = summarise([[number("5")], [number("7")]])
    assert stats.kind == "number" and stats.average is None


@pytest.mark.parametrize("calls", [[], [[]], [None], [["not a dict"]], [[{"type": "multiple_choice"}]]])
def test_odd_results_never_crash(calls):
    for stats in summarise(calls):
        assert stats.choices == []
