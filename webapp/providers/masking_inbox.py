"""Reading masking inbox.php answers by what their values look like, not by where they stand.

The answer format is not public (sms-masking-http-api.txt section 6 shows only the request), so nothing here
relies on a column order, an id column, a header or a separator. Each line, or each item of a JSON array, is
read by content:

- the sender: an Indonesian mobile number written 62..., +62... or 08... (spaces, dashes and dots allowed);
- the time: a timestamp in a common layout (ISO 8601, 2025/01/02-07:00:00, 02-01-2025 07:00, 02/01/2025 ...),
  Jakarta local time unless it carries its own zone; a date and a time in two columns are put together;
- an id: a token of digits left over, when there is one;
- the text: what is left (a text cut by an unquoted separator is put back together).

A header line (only names) is not a message; its names, like the keys of JSON objects, break ties where a row
holds two numbers or two times (Gammu's SenderNumber next to SMSCNumber, ReceivingDateTime next to
UpdatedInDB). Separators tried: tab, "|", ";" and ",", quoted or not; the one that reads the most lines wins,
and a line it cannot read is tried with the others. A line (or item) with no sender, or with neither a text nor
a time, is returned raw in ``not_understood``: the caller keeps it, never drops it.

Every message gets a ``key`` for deduplication: the provider's id when the row has one, else a hash of number,
time, text and how many identical rows came before it in the same answer (so two identical STOPs stay two).
"""
import csv
import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from webapp import phones

# Every timestamp the provider writes without a zone is Jakarta local time (WIB).
PROVIDER_TZ = ZoneInfo("Asia/Jakarta")
# Separators tried, in the order that breaks ties: tabs and pipes rarely appear inside an SMS, commas often.
SEPARATORS = ("\t", "|", ";", ",")
# Indonesian mobile numbers as gateways write them: 62..., +62..., 0062... or 08..., 9 to 13 digits after the 8.
MSISDN = re.compile(r"^(?:\+62|0062|62|0)(8\d{7,12})$")
# Characters people and systems put inside a number: "+62 812-3456.7890", "(0812) 3456 7890".
NUMBER_NOISE = re.compile(r"[\s().-]")
# A leftover cell that is an id (or some other counter), not text.
ID_TOKEN = re.compile(r"^[0-9]{1,20}$")
# Cells a header may hold: names, never values.
NAME_TOKEN = re.compile(r"^[A-Za-z][A-Za-z0-9_ .-]{0,39}$")
# Layouts beyond ISO 8601 (which datetime.fromisoformat reads, zone and fraction included).
DATETIME_FORMATS = (
    "%Y/%m/%d-%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M",
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d/%m/%y %H:%M:%S", "%d/%m/%y,%H:%M:%S",
)
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y")
TIME_FORMATS = ("%H:%M:%S", "%H:%M")
# Plausible years for an inbound SMS: keeps ids and amounts from passing for dates.
YEARS = range(2000, 2100)
# Column names, most telling first, normalised to lower-case letters and digits.
SENDER_NAMES = ("sendernumber", "sender", "from", "msisdn", "pengirim", "nohp", "hp", "phone", "number", "nomor",
                "originator", "address", "mobile", "source", "src")
TEXT_NAMES = ("textdecoded", "message", "pesan", "isipesan", "isi", "text", "msg", "sms", "content", "body")
TIME_NAMES = ("receivingdatetime", "receivedat", "received", "datetime", "tanggal", "waktu", "timestamp", "date",
              "time", "createdat", "created", "sentat", "sent")
ID_NAMES = ("id", "msgid", "messageid", "smsid", "inboxid", "idinbox", "uid", "no")
ALL_NAMES = SENDER_NAMES + TEXT_NAMES + TIME_NAMES + ID_NAMES
# JSON keys under which an object may wrap its list of messages.
WRAPPER_KEYS = ("data", "inbox", "messages", "message", "result", "results", "rows", "items", "sms")
# A raw line is kept whole up to this size (an HTML error page is not worth more).
MAX_RAW = 2000


@dataclass
class InboxMessage:
    id: str  # the provider's id, "" when the answer has none
    sender_e164: str
    text: str
    received_at: datetime | None  # naive UTC; None when the line carries no time
    raw: str = field(default="", compare=False)
    key: str = field(default="", compare=False)  # deduplication key, see the module docstring


@dataclass
class InboxAnswer:
    messages: list = field(default_factory=list)
    not_understood: list = field(default_factory=list)  # raw lines (or JSON items) that are no message
    raw: str = ""

    def __iter__(self):
        return iter(self.messages)

    def __len__(self):
        return len(self.messages)


def parse_inbox(text):
    """Read one inbox.php answer; never raises for a bad body."""
    text = (text or "").strip().lstrip("\ufeff")
    answer = InboxAnswer(raw=text)
    if not text:
        return answer
    items = _json_items(text)
    if items is None:
        rows = _text_rows(text)
    else:
        rows = [_json_row(item) for item in items]
    seen = Counter()
    for row in rows:
        if row is None:
            continue
        if isinstance(row, str):
            answer.not_understood.append(row[:MAX_RAW])
            continue
        message = row
        identity = (message.sender_e164, message.received_at.isoformat() if message.received_at else "",
                    message.text)
        seen[identity] += 1
        message.key = message.id or _hash("msg", *identity, str(seen[identity]))
        answer.messages.append(message)
    return answer


def raw_key(line, occurrence):
    """Deduplication key of a line that is not understood (the same garbage in every poll is kept once)."""
    return _hash("raw", line, str(occurrence))


def _hash(kind, *parts):
    return f"{kind}:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


# --- JSON answers ---------------------------------------------------------------------------------------------

def _json_items(text):
    """The items of a JSON answer, None when the answer is not JSON (then it is read as lines)."""
    if text[0] not in "[{":
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict):
        for key in WRAPPER_KEYS:
            if isinstance(data.get(key), list):
                return data[key]
        lists = [value for value in data.values() if isinstance(value, list)]
        if len(lists) == 1:
            return lists[0]
        return [data]
    return data if isinstance(data, list) else [data]


def _json_row(item):
    raw = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
    if isinstance(item, str):
        rows = _text_rows(item)
        return rows[0] if len(rows) == 1 else raw
    if isinstance(item, dict):
        names, cells = [], []
        for key, value in item.items():
            inner = value.items() if isinstance(value, dict) else [("", value)]
            for sub, part in inner:
                if isinstance(part, (dict, list, bool)) or part is None:
                    continue
                names.append(_name(f"{key}{sub}" if sub else key))
                cells.append(str(part).strip())
        return _read_row(cells, names, raw, ",") or raw
    if isinstance(item, list):
        cells = [str(part).strip() for part in item if not isinstance(part, (dict, list, bool)) and part is not None]
        return _read_row(cells, None, raw, ",") or raw
    return raw


# --- line answers ---------------------------------------------------------------------------------------------

def _text_rows(text):
    """Messages and not-understood raw lines, with the separator that reads the most lines."""
    best = None
    for separator in SEPARATORS:
        rows = _read_with(text, separator)
        # Most messages read, then fewest lines left unread (a header alone is read by its own separator).
        read = sum(1 for row in rows if isinstance(row, InboxMessage))
        score = (read, -sum(1 for row in rows if isinstance(row, str)))
        if best is None or score > best[0]:
            best = (score, separator, rows)
    _score, separator, rows = best
    result = []
    for row in rows:
        if isinstance(row, str) and "\n" in row:
            # A quote left open swallows the lines after it: read them one by one.
            result.extend(_read_line(line) for line in row.splitlines() if line.strip())
        elif isinstance(row, str):
            result.append(_read_line(row, skip=separator))
        else:
            result.append(row)
    return result


def _read_line(line, skip=None):
    """One line with the first separator that reads it, else the line itself (not understood)."""
    for separator in SEPARATORS:
        if separator != skip:
            row = next(iter(_read_with(line, separator)), None)
            if isinstance(row, InboxMessage):
                return row
    return line.strip()


def _read_with(text, separator):
    """[InboxMessage | raw line | None (header, blank)] reading text with one separator."""
    lines = text.splitlines()
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    rows, names, consumed = [], None, 0
    try:
        for pieces in reader:
            raw = "\n".join(lines[consumed:reader.line_num]).strip()
            consumed = reader.line_num
            cells = [_unquote(piece) for piece in pieces]
            if not any(cells):
                continue
            if _is_header(cells):
                names = [_name(cell) for cell in cells]
                rows.append(None)
                continue
            row_names = names if names and len(names) == len(cells) else None
            rows.append(_read_row(cells, row_names, raw, separator, pieces) or raw)
    except csv.Error:
        rows.extend(line.strip() for line in lines[consumed:] if line.strip())
    return rows


def _unquote(piece):
    """A cell without its padding, and without the quotes of a quoted cell that had a space before it."""
    cell = piece.strip()
    if len(cell) >= 2 and cell[0] == cell[-1] and cell[0] in "\"'":
        cell = cell[1:-1].replace(cell[0] * 2, cell[0]).strip()
    return cell


def _is_header(cells):
    if len(cells) < 2 or not all(NAME_TOKEN.match(cell) for cell in cells):
        return False
    return sum(1 for cell in cells if _name(cell) in ALL_NAMES) >= 2


def _name(text):
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


# --- one row of cells -----------------------------------------------------------------------------------------

def _read_row(cells, names, raw, separator, pieces=None):
    """An InboxMessage from cells by content (names only break ties), or None."""
    used = set()
    sender_at = _pick(cells, names, SENDER_NAMES, _msisdn, used)
    if sender_at is None:
        return None
    used.add(sender_at)
    received_at = None
    time_at = _pick(cells, names, TIME_NAMES, _timestamp, used)
    if time_at is not None:
        used.add(time_at)
        received_at = _timestamp(cells[time_at])
    else:
        received_at = _split_timestamp(cells, used)
    id_at = _named(cells, names, ID_NAMES, used)
    if id_at is not None:
        used.add(id_at)
    text_at = _named(cells, names, TEXT_NAMES, used)
    if text_at is not None:
        text = cells[text_at]
        if id_at is None:
            id_at = next((i for i, cell in enumerate(cells) if i not in used and i != text_at
                          and ID_TOKEN.match(cell)), None)
    else:
        text, id_from_rest = _text_and_id(cells, used, id_at is None, separator, pieces or cells)
        if id_at is None and id_from_rest is not None:
            id_at = id_from_rest
    if not text and received_at is None:
        return None
    return InboxMessage(cells[id_at] if id_at is not None else "", _msisdn(cells[sender_at]), text, received_at,
                        raw=raw[:MAX_RAW])


def _pick(cells, names, wanted, reader, used):
    """Index of the cell the names point at when its content agrees, else the first cell whose content fits."""
    named = _named(cells, names, wanted, used, reader)
    if named is not None:
        return named
    return next((i for i, cell in enumerate(cells) if i not in used and reader(cell)), None)


def _named(cells, names, wanted, used, reader=None):
    if not names:
        return None
    for name in wanted:
        for i, cell_name in enumerate(names):
            if i not in used and cell_name == name and cells[i] and (reader is None or reader(cells[i])):
                return i
    return None


def _text_and_id(cells, used, want_id, separator, pieces):
    """The text from the cells left over, and the index of an id among them.

    Numbers-only cells around the text are ids or counters; the text runs from the first to the last other
    cell, so a text an unquoted separator cut in pieces is joined back. When only numbers are left, the first
    of two or more is the id and the rest is the text (a reply can be just "1"). pieces are the cells as
    split, spaces kept, for joining a cut text back as it was written.
    """
    rest = [i for i in range(len(cells)) if i not in used and cells[i]]
    words = [i for i in rest if not ID_TOKEN.match(cells[i])]
    if words:
        span = [i for i in rest if words[0] <= i <= words[-1]]
        outside = [i for i in rest if i not in span]
        id_at = outside[0] if want_id and outside else None
        text = cells[span[0]] if len(span) == 1 else _unquote(separator.join(pieces[i] for i in span))
        return text, id_at
    if not rest:
        return "", None
    if len(rest) == 1:
        return cells[rest[0]], None
    return separator.join(cells[i] for i in rest[1:]), rest[0] if want_id else None


# --- values ---------------------------------------------------------------------------------------------------

def _msisdn(cell):
    """E.164 of an Indonesian mobile number, else ""."""
    match = MSISDN.match(NUMBER_NOISE.sub("", cell or ""))
    if not match:
        return ""
    try:
        return phones.to_e164("+62" + match.group(1))
    except ValueError:
        return ""


def _timestamp(cell):
    """Naive UTC from a timestamp cell, else None."""
    text = (cell or "").strip()
    if len(text) < 10 or text.isdigit() or not text[:1].isdigit():
        return None  # ids and counters are no dates
    moment = None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for layout in DATETIME_FORMATS:
            try:
                moment = datetime.strptime(text, layout)
                break
            except ValueError:
                continue
    if moment is None or moment.year not in YEARS or (moment.time() == time() and len(text) <= 10):
        return None  # a date alone is read with its time column (_split_timestamp)
    return _to_utc(moment)


def _split_timestamp(cells, used):
    """A date and a time in two columns; marks both used. None when the row has no such pair."""
    date_at = next((i for i, cell in enumerate(cells) if i not in used and _parse(cell, DATE_FORMATS, date)), None)
    if date_at is None:
        return None
    day = _parse(cells[date_at], DATE_FORMATS, date)
    time_at = next((i for i, cell in enumerate(cells) if i not in used and i != date_at
                    and _parse(cell, TIME_FORMATS, time)), None)
    used.add(date_at)
    if time_at is None:
        return _to_utc(datetime.combine(day, time()))
    used.add(time_at)
    return _to_utc(datetime.combine(day, _parse(cells[time_at], TIME_FORMATS, time)))


def _parse(cell, layouts, kind):
    for layout in layouts:
        try:
            moment = datetime.strptime(cell.strip(), layout)
        except ValueError:
            continue
        if kind is date:
            return moment.date() if moment.year in YEARS else None
        return moment.time()
    return None


def _to_utc(moment):
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PROVIDER_TZ)
    return moment.astimezone(UTC).replace(tzinfo=None)
