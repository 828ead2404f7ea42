"""Inbox lines kept as the provider wrote them, and the lines that could not be read kept too.

inbox.php's format is not public: every line is now read by content, stored with its raw text, and a line that
is no message is stored with ``understood`` false (sender empty) so the Inbox page can count and show it.
"""

STEPS = [
    "ALTER TABLE inbox_message ADD COLUMN raw TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE inbox_message ADD COLUMN understood BOOLEAN NOT NULL DEFAULT TRUE",
]
