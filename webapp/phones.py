"""Phone numbers: stored E.164, parsed with the default region ID; each provider formats its own way."""
import phonenumbers

DEFAULT_REGION = "ID"


class PhoneError(ValueError):
    pass


def to_e164(raw, region=DEFAULT_REGION):
    return phonenumbers.format_number(parse_valid(raw, region), phonenumbers.PhoneNumberFormat.E164)


def parse_valid(raw, region=DEFAULT_REGION):
    """The parsed number, or PhoneError when it is not a valid one."""
    text = (raw or "").strip()
    if not text:
        raise PhoneError("a phone number is required")
    if text.startswith("00"):
        text = "+" + text[2:]
    # "62812..." without a plus is how Indonesian gateways write numbers: read it as international.
    if text[0].isdigit() and text.startswith("62") and len(text) >= 10:
        text = "+" + text
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"'{raw}' is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"'{raw}' is not a valid phone number")
    return number


def display(e164):
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def digits(e164):
    """E.164 without the plus: 62812..., the form masking and CitCALL accept."""
    return (e164 or "").lstrip("+")


def national(e164):
    """National significant number, e.g. 9876543210 for an Indian mobile (Airtel's 10-digit form)."""
    number = phonenumbers.parse(e164, None)
    return str(number.national_number)


def local_zero(e164):
    """0812... form, as OCA's examples write Indonesian numbers."""
    return "0" + national(e164)
