"""Placeholder replaced by the send dispatcher."""


def run_once(app):
    return False
