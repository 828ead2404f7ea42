"""Every code each provider's spec documents has human words, fitting its channel, with the raw code kept."""
import pytest

from webapp.models import Send
from webapp.reasons import reason_for, state_label, state_word

# Transcribed from the provider specs (the contract): each list is every code the document names.
MASKING_CODES = ["22", "50", "51", "52", "20"]  # report.php and Callable API DLR tables
MASKING_SEND_ANSWERS = ["invalid_msisdn", "auth_failed", "rejected"]  # send.php bodies, webapp.providers.masking
CITCALL_RC = ["00", "06", "07", "14", "34", "42", "43", "44", "66", "76", "77", "78", "79", "80", "81", "88", "96",
              "97", "98", "99"]  # appendix 5.1
CITCALL_SIP = ["100", "180", "181", "182", "183", "199", "200", "201", "204", "300", "301", "302", "305", "400",
               "401", "402", "403", "404", "405", "406", "407", "408", "409", "410", "411", "412", "413", "414",
               "415", "416", "417", "420", "421", "422", "423", "428", "429", "430", "433", "436", "437", "438",
               "439", "470", "480", "481", "482", "483", "484", "485", "486", "487", "488", "489", "491", "493",
               "494", "500", "501", "502", "503", "504", "505", "513", "580", "600", "603", "604", "606"]  # 5.2
OCA_CODES = ["13", "17", "19", "33", "39", "41", "51", "55", "57", "5", "9", "43", "45"]  # v1 table + V2 additions
OCA_STATUSES = ["submitted", "success", "failed", "answered"]  # call-status `status` (documented + sample)
HANGUP_CAUSES = ["NORMAL_CLEARING"]  # the OCA sample; Airtel's sample too
AIRTEL_CODES = ["INCORRECT_CALL_FLOW_ID", "CUSTOMER_DETAILS_NOT_AVAILABLE", "INCORRECT_CUSTOMER_ID",
                "INVALID_CALLER_ID",
                "CALLER_ID_REGEX_ERROR", "DUPLICATE_PARTICIPANT_ADDRESS_FOUND", "UNABLE_TO_CREATE_SECRET_KEY",
                "CLICK_TO_CALL_REQUEST_NULL_ERROR", "FROM_BODY_NULL_ERROR", "TO_BODY_NULL_ERROR",
                "CUSTOMER_ID_NULL_ERROR", "CALL_FLOW_ID_NULL_ERROR", "ROUNDROBIN_AGENT_ID_MISSING",
                "ROUNDROBIN_PARTICIPANT_DATA_NOT_ALLOWED", "FROM_NUMBER_NULL_ERROR",
                "FROM_PARTICIPANT_NUMBER_NULL_ERROR", "FROM_PARTICIPANT_NUMBER_REGEX_ERROR",
                "FROM_PARTICIPANT_MAX_RETRIES_GREATER_THAN_REQUIRED_VALUE", "CALLER_ID_NULL_ERROR",
                "TO_NUMBER_NULL_ERROR", "TO_PARTICIPANT_NUMBER_NULL_ERROR", "TO_PARTICIPANT_NUMBER_REGEX_ERROR",
                "TO_PARTICIPANT_MAX_RETRIES_GREATER_THAN_REQUIRED_VALUE",
                "CONFERENCE_MERGING_STRATEGY_NOT_ALLOWED_FOT_TO_NUMBER", "AIRTEL_ONLINE_UNCAUGHT_ERROR",
                "Answered", "Busy", "Noanswer", "Missed", "NotReachable", "NetworkError"]  # + CDR statuses
AIRTEL_CAUSE_NUMBERS = ["16"]  # the spec's event sample metaData.causeCode

CASES = ([("masking", c, "sms.masking") for c in MASKING_CODES + MASKING_SEND_ANSWERS]
         + [("citcall", c, "sms.citcall") for c in CITCALL_RC]
         + [("citcall", c, "otp.miscall") for c in CITCALL_SIP]
         + [("oca", c, "ivr.oca") for c in OCA_CODES + OCA_STATUSES + HANGUP_CAUSES]
         + [("airtel", c, "c2c.airtel") for c in AIRTEL_CODES + HANGUP_CAUSES + AIRTEL_CAUSE_NUMBERS])


@pytest.mark.parametrize(("provider", "code", "kind"), CASES)
def test_every_documented_code_has_human_words(provider, code, kind):
    reason = reason_for(provider, code, kind=kind)
    assert reason.category != "unknown" or code == "failed", (provider, code)
    assert not reason.words.startswith("Undocumented")
    if not code.istitle():  # CDR statuses such as "Busy" are words already
        assert code not in reason.words
    assert str(reason) == (reason.words if reason.words == code else f"{reason.words} ({code})")


@pytest.mark.parametrize(("provider", "code", "text", "kind", "expected"), [
    # report.php writes three meanings under 50: its detail decides.
    ("masking", "50", "Failed", "sms.masking", ("Balance ran out", "account")),
    ("masking", "50", "Saldo Habis", "sms.masking", ("Balance ran out", "account")),
    ("masking", "50", "Periode Habis", "sms.masking", ("Balance validity period expired", "account")),
    ("masking", "50", "No Charge", "sms.masking", ("Wrong number format; not charged", "number")),
    ("masking", "52", "No Charge", "sms.masking", ("Wrong number format; not charged", "number")),
    # CitCALL's rc arrives as 6 or "06"; a SIP 486 on a miscall is a busy phone.
    ("citcall", "6", "", "sms.citcall", ("CitCALL reported an unknown error", "transient")),
    ("citcall", "486", "Busy Here", "otp.miscall", ("Busy", "callee")),
    ("citcall", "", "Failed", "sms.citcall", ("Undeliverable", "number")),
    ("oca", "USER_BUSY", "USER_BUSY", "ivr.oca", ("Busy", "callee")),
    ("oca", "NO_ANSWER", "NO_ANSWER", "ivr.oca", ("No answer", "callee")),
    ("oca", "55", "", "ivr.oca", ("OCA quota ran out", "account")),
    ("airtel", "17", "", "c2c.airtel", ("Busy", "callee")),
])
def test_words_fit_the_meaning(provider, code, text, kind, expected):
    reason = reason_for(provider, code, text, kind)
    assert (reason.words, reason.category) == expected


def test_undocumented_code_keeps_the_provider_words_and_code():
    reason = reason_for("citcall", "12", "something new")
    assert str(reason) == "something new (12)" and reason.category == "unknown"


@pytest.mark.parametrize(("kind", "state", "code", "word"), [
    ("ivr.oca", "delivered", "", "answered"),
    ("ivr.oca", "failed", "USER_BUSY", "busy"),
    ("ivr.oca", "failed", "NO_ANSWER", "no answer"),
    ("ivr.oca", "failed", "55", "failed"),
    ("sms.masking", "delivered", "", "delivered"),
    ("sms.masking", "undeliverable", "52", "undeliverable"),
])
def test_state_words_fit_the_channel(kind, state, code, word):
    send = Send(kind=kind, provider=kind.split(".")[1], state=state, error_code=code, error_text=code)
    assert state_word(send) == word


def test_campaign_counts_read_in_call_words_for_robocalls():
    assert [state_label(s, "ivr") for s in ("delivered", "failed", "submitted", "queued")] == [
        "answered", "not answered", "calling", "queued"]
    assert state_label("delivered", "sms") == "delivered"
