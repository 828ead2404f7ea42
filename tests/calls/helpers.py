"""Helpers shared by the click-to-call tests."""
import uuid

PHONES = {"admin": "+919876500001", "agent": "+919876500002", "supervisor": "+919876500003"}


def customer(suffix="0000"):
    """A sandbox customer number; its last four digits choose the call's outcome (webapp/sandbox/airtel.py)."""
    return f"+91987654{suffix}"


def new_key():
    return uuid.uuid4().hex


def in_mode(mode, events, disordered=False):
    """The events the simulator sends in this mode: strict mode names hang-ups as the spec's sample does
    ("Removed") and delivers every call's events out of order, as the 0500 number always does."""
    if mode != "strict":
        return events
    renamed = [(leg, "Removed" if event == "Disconnected" else event) for leg, event in events]
    for leg in () if disordered else {leg for leg, _ in renamed}:
        if (leg, "Ringing") in renamed and (leg, "Answer") in renamed:
            ringing, answer = renamed.index((leg, "Ringing")), renamed.index((leg, "Answer"))
            renamed[ringing], renamed[answer] = renamed[answer], renamed[ringing]
    return renamed
