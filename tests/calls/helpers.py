"""Helpers shared by the click-to-call tests."""
import uuid

PHONES = {"admin": "+919876500001", "agent": "+919876500002", "supervisor": "+919876500003"}


def customer(suffix="0000"):
    """A sandbox customer number; its last four digits choose the call's outcome (webapp/sandbox/airtel.py)."""
    return f"+91987654{suffix}"


def new_key():
    return uuid.uuid4().hex
