"""Every sample the four provider specs print, fed verbatim through our parsers: the least the app must accept.

Each case names its spec and section. JSON and form samples are copied as printed (placeholders included);
tables that stand in for a sample (CitCALL's response codes, Airtel's error codes, OCA's property lists) give
one case per row. Response samples are answered over loopback HTTP by a canned server, so they go through the
real client, status handling included; request samples are compared with the request the client really sent.
"""
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from flask import Flask, request

from tests.providers.harness import ListSink
from tests.servers import ServerThread
from webapp.providers import airtel, citcall, masking, module, oca
from webapp.providers.base import ProviderError, basic_auth_header

# --- a loopback server answering each request with the next canned answer --------------------------------


class Canned:
    def __init__(self):
        self.answers, self.seen = [], []
        self.app = Flask("canned")
        self.app.add_url_rule("/<path:path>", "any", self._answer,
                              methods=["GET", "POST", "DELETE", "PUT"])

    def _answer(self, path):
        self.seen.append({"method": request.method, "path": "/" + path, "args": request.args.to_dict(),
                          "form": request.form.to_dict(), "headers": dict(request.headers),
                          "json": request.get_json(silent=True)})
        status, body, content_type = self.answers.pop(0) if self.answers else (200, "", "text/plain")
        return body, status, {"Content-Type": content_type}


@pytest.fixture(scope="module")
def canned():
    server = Canned()
    thread = ServerThread(server.app).start()
    server.url = thread.url
    yield server
    thread.stop()


CLIENTS = {
    "masking": lambda url: masking.Client(f"{url}/masking", "xxxxx", "secret-pass", log_sink=ListSink()),
    "citcall": lambda url: citcall.Client(f"{url}/gateway/v3", "0090kijj11208jdnclandjakw9281id0",
                                          log_sink=ListSink()),
    "airtel": lambda url: airtel.Client(url, "demo", "p@55w0rd", "customer-1", "flow-1", "8048248411",
                                        "https://app.example/callbacks/airtel/token", log_sink=ListSink()),
    "oca": lambda url: oca.Client(f"{url}/api/v1", "test@gmail.com", "test123", log_sink=ListSink()),
}


@dataclass
class Answer:
    """A response sample: the provider answers ``body`` to ``call``; ``expect`` checks what we made of it."""
    id: str
    provider: str
    body: str
    call: Callable[[Any], Any]
    expect: Callable[[Any], None]
    status: int = 200
    content_type: str = "application/json"


@dataclass
class Request:
    """A request sample: ``expect(seen, sample)`` compares the request our client sent with the spec's."""
    id: str
    provider: str
    sample: str
    call: Callable[[Any], Any]
    expect: Callable[[dict, str], None]
    answer: str = ""


@dataclass
class Callback:
    """A callback sample, through the provider's callback parser."""
    id: str
    provider: str
    kind: str
    payload: dict
    expect: Callable[[list], None]


@dataclass
class Fact:
    """A sample that needs no HTTP exchange (an encoding example, a code table)."""
    id: str
    check: Callable[[], None]


# --- checks --------------------------------------------------------------------------------------------------

def has(**expected):
    def check(result):
        assert not isinstance(result, ProviderError), f"refused: {result}"
        for name, value in expected.items():
            assert getattr(result, name) == value, f"{name}: {getattr(result, name)!r} != {value!r}"
    return check


def refused(code, outcome_known=True):
    def check(result):
        assert isinstance(result, ProviderError), f"accepted: {result!r}"
        assert (result.code, result.outcome_known) == (code, outcome_known), (result.code, result.message)
    return check


def update(details=None, **expected):
    def check(updates):
        (one,) = updates
        has(**expected)(one)
        for name, value in (details or {}).items():
            assert one.details.get(name) == value, f"details[{name}]: {one.details.get(name)!r} != {value!r}"
    return check


def php_dump(text):
    """The masking spec's DLR sample is PHP's var_dump of $_GET (its underscores escaped as \\_ by the
    document's markup): read back into the query parameters it shows."""
    return {key.replace("\\_", "_"): value
            for key, value in re.findall(r'\["([^"]+)"\]=>\s*string\(\d+\)\s*"([^"]*)"', text)}


def all_keys(sample, ours, where="body"):
    """Every key the spec's sample has, ours has too (first element of lists), at every depth."""
    if isinstance(sample, dict):
        assert isinstance(ours, dict), f"{where}: {ours!r} is not an object"
        for key, value in sample.items():
            assert key in ours, f"{where}: missing {key!r}"
            all_keys(value, ours[key], f"{where}.{key}")
    elif isinstance(sample, list) and sample:
        assert isinstance(ours, list) and ours, f"{where}: {ours!r} is not a list"
        all_keys(sample[0], ours[0], f"{where}[0]")


# --- SMS masking (sms-masking-http-api.txt) ------------------------------------------------------------------

MASKING_GET = "http://103.16.199.187/masking/send.php?username=xxxxx&password=xxxxx&hp=628xxxxxxxx&message=xxxxxxx"
MASKING_POST = """$rows = array (
        'username' => ' ',
        'password' => ' ',
        'hp' => '62',
        'message' => ' '
        );"""
MASKING_REPORT = "http://103.16.199.187/masking/report.php?rpt=xxxxx"
MASKING_DLR = ('GET=array(3) { ["session\\_id"]=> string(8) "38590565" ["error\\_code"]=> string(2) "51" '
               '["error\\_message"]=> string(17) "Expiration Period" ["msisdn"]=> string(13) "62822xxxxxxx"}')
MASKING_DLR_TABLE = """22	Delivered
50	Insufficient Credit Balance ( Saldo Habis)
51	Expiration Periode ( Periode Habis )
52	No Charge ( Kesalahan Format Nomor Tujuan , tidak
20	Pesan pending terkirim, nomor tujuan / handphone"""
MASKING_BALANCE = "http://103.16.199.187/masking/balance.php?username=xxx&password=xxx"
MASKING_REPORTS_FORM = """Username : <input type="text" name="username"></br>
Password : <input type="text" name="password"></br>
Start Date : <input type="text" name="start" value="<?php echo date("d-m-Y",time()); ?>"></br>
End Date : <input type="text" name="end" value="<?php echo date("d-m-Y",time()); ?>"></br>"""
MASKING_INBOX = "http://103.16.199.187/masking/inbox.php?username=xxxx&password=xxxx"
DLR_STATES = {"22": "delivered", "50": "failed", "51": "failed", "52": "undeliverable", "20": "submitted"}


def query_names(url):
    return set(re.findall(r"[?&]([a-z_]+)=", url))


def same_query(seen, sample):
    assert set(seen["args"]) == query_names(sample) and seen["method"] == "GET"
    assert seen["path"].endswith("/" + sample.split("/")[-1].split("?")[0])


def same_post_form(seen, sample):
    assert set(seen["form"]) == set(re.findall(r"'(\w+)' =>", sample)) and seen["method"] == "POST"


def same_reports_form(seen, sample):
    names = set(re.findall(r'name="(\w+)"', sample))
    assert set(seen["form"]) == names and seen["path"].endswith("/reports_post.php")
    for name in ("start", "end"):  # PHP date("d-m-Y")
        assert re.fullmatch(r"\d{2}-\d{2}-\d{4}", seen["form"][name])


MASKING = [
    Request("masking §1 send GET", "masking", MASKING_GET, lambda c: c.send("+62811129869", "Halo"), same_query,
            answer="18319370"),
    Request("masking §2 send POST", "masking", MASKING_POST, lambda c: c.send("+62811129869", "Halo", "POST"),
            same_post_form, answer="18319370"),
    Answer("masking §3 send answer is the response code 18319370", "masking", "18319370",
           lambda c: c.send("+62811129869", "Halo"), has(message_id="18319370"), content_type="text/html"),
    Request("masking §3 report.php request", "masking", MASKING_REPORT, lambda c: c.report("18319370"), same_query,
            answer="22"),
    *[Answer(f"masking §3 report.php response {code}", "masking", code, lambda c: c.report("18319370"),
             has(state=state), content_type="text/html")
      for code, state in (("22", "delivered"), ("50", "failed"), ("20", "submitted"))],
    Callback("masking §3 Callable API DLR dump", "masking", "dlr", php_dump(MASKING_DLR),
             update(reference="38590565", state="failed", error_code="51", error_text="Expiration Period",
                    details={"msisdn": "62822xxxxxxx"})),
    *[Callback(f"masking §3 DLR error {line.split(chr(9))[0]}", "masking", "dlr",
               {"session_id": "38590565", "error_code": line.split("\t")[0], "error_message": line.split("\t")[1],
                "msisdn": "62822xxxxxxx"},
               update(reference="38590565", state=DLR_STATES[line.split("\t")[0]]))
      for line in MASKING_DLR_TABLE.splitlines()],
    Request("masking §4 balance.php request", "masking", MASKING_BALANCE, lambda c: c.balance(), same_query,
            answer="150000,2025/12/31-23:59:59"),
    Request("masking §5 reports_post.php form", "masking", MASKING_REPORTS_FORM,
            lambda c: c.reports(date(2026, 12, 1), date(2026, 12, 2)), same_reports_form, answer=""),
    Request("masking §6 inbox.php request", "masking", MASKING_INBOX, lambda c: c.inbox(), same_query, answer=""),
]

# --- CitCALL (citcall-api-v3.3.txt) --------------------------------------------------------------------------

CITCALL_REQUEST = """{
  "msisdn":"081234567890",
  "gateway":1
}"""
CITCALL_SUCCESS = """{
  "rc":"00",
  "trxid":"20170709083044690027711524",
  "msisdn":"+6281234567890",
  "via":"voice",
  "token":"622130401234",
  "msisdn":"622130401234",
  "dial_code":"200",
  "dial_status":"OK",
  "call_status":"ANSWERED",
  "result":"Success",
  "currency":"IDR",
  "price":"165"
}"""
CITCALL_FAILED = """{
  "rc":"98",
  "info":" Authorization
failed"
}"""
CITCALL_RESPONSE_CODES = """00	Success or processed.
06	unknown error / failed
07	Invalid Gateway
14	insuficient amount
34	Service temporary unavilable
42	invalid msisdn
43	invalid sms content
44	senderid closed
66	Maintenance in progress
76	Wrong Password
77	userid not found
78	Data not found!
79	Invalid token
80	Expired token
81	maximum try reached!
88	missing parameter
96	apikey not found or non active
97	invalid json format
98	Authorization failed
99	wrong method"""
TRX = "20170709083044690027711524"


def body_of(**fields):
    return json.dumps(fields)


def citcall_header(seen, sample):
    assert seen["headers"]["Authorization"] == sample.split(": ", 1)[1]


def citcall_request(seen, sample):
    expected = json.loads(sample)
    assert set(seen["json"]) == set(expected) and seen["json"]["gateway"] == expected["gateway"]
    assert seen["json"]["msisdn"].endswith(expected["msisdn"].lstrip("0"))


def sip_codes(delivered, codes):
    def check():
        assert [citcall.miscall_delivered(code) for code in codes] == [delivered] * len(codes)
    return check


def rc_case(line):
    rc, description = line.split("\t")
    body = body_of(rc=rc, info=description, trxid=TRX, msisdn="6281234567890", token="622130401234")
    expect = has(trxid=TRX) if rc == "00" else refused(rc)
    return Answer(f"citcall §5.1 rc {rc}", "citcall", body, lambda c: c.asynccall("+6281234567890"), expect)


CITCALL = [
    Request("citcall §2.2.1 Apikey authorization header", "citcall",
            "Authorization: Apikey 0090kijj11208jdnclandjakw9281id0", lambda c: c.asynccall("+6281234567890"),
            citcall_header, answer=CITCALL_SUCCESS),
    Fact("citcall §2.2.2 Basic authorization example",
         lambda: _equal(basic_auth_header("citcall", "citcall"), "Basic Y2l0Y2FsbDpjaXRjYWxs")),
    Request("citcall §3 example request", "citcall", CITCALL_REQUEST,
            lambda c: c.asynccall("+6281234567890", gateway=1), citcall_request, answer=CITCALL_SUCCESS),
    Answer("citcall §3 example response of successful request", "citcall", CITCALL_SUCCESS,
           lambda c: c.asynccall("+6281234567890"), has(trxid=TRX, token="622130401234", otp_digits="1234")),
    Answer("citcall §3 example response of failed request", "citcall", CITCALL_FAILED,
           lambda c: c.asynccall("+6281234567890"), refused("98")),
    Answer("citcall §3.2 SMS response fields", "citcall",
           body_of(rc="00", info="Success", sms_count=1, senderid="CITCALL", msisdn="6281234567890",
                   text="Halo", trxid=TRX, currency="IDR", price="300"),
           lambda c: c.sms("+6281234567890", "Halo"), has(trxid=TRX, sms_count=1, price=300.0, currency="IDR")),
    Answer("citcall §3.3.1 SMS OTP default response fields", "citcall",
           body_of(rc="00", info="Success", sms_count=1, senderid="CITCALL", msisdn="6281234567890",
                   text="Kode 12345", trxid=TRX, currency="IDR", price="300"),
           lambda c: c.smsotp("+6281234567890", "CITCALL", text="Kode XXXXX"), has(trxid=TRX, price=300.0)),
    Answer("citcall §3.3.2 SMS OTP advanced response fields", "citcall",
           body_of(rc="00", info="Success", sms_count=1, senderid="CITCALL", msisdn="6281234567890",
                   text="your OTP code is 12345 valid until 1 hour", trxid=TRX, currency="IDR", price="300",
                   token="12345"),
           lambda c: c.smsotp("+6281234567890", "CITCALL", text="your OTP code is XXXXX valid until 1 hour"),
           has(trxid=TRX, token="12345")),
    Answer("citcall §3.4 verify response fields", "citcall",
           body_of(rc="00", info="valid", trxid="20190801155256104472275025", trxid_verify=TRX, currency="IDR",
                   msisdn="+6281234567890", token="622130401234", token_verify="1234"),
           lambda c: c.verify(TRX, "+6281234567890", "1234"),
           has(trxid="20190801155256104472275025", trxid_verify=TRX, info="valid")),
    Callback("citcall §3 example successful response as the §4.1 miscall callback", "citcall", "",
             json.loads(CITCALL_SUCCESS),
             update(reference=TRX, state="delivered", kind="miscall", price=165.0, details={"dial_code": "200"})),
    Callback("citcall §4.1 asynchronous miscall callback parameters", "citcall", "",
             {"rc": "00", "trxid": TRX, "msisdn": "+6281234567890", "via": "voice", "token": "622130401234",
              "dial_code": "486", "dial_status": "Busy Here", "call_status": "BUSY", "price": "0", "result": "Failed"},
             update(reference=TRX, state="failed", error_code="486", price=0.0, currency="IDR")),
    Callback("citcall §4.2 SMS callback parameters", "citcall", "",
             {"trxid": TRX, "result": "Success", "description": "Delivered", "reportedDate": "2019-01-30 10:00:00",
              "currency": "IDR", "price": "300"},
             update(reference=TRX, state="delivered", kind="sms")),
    Callback("citcall §4.3 SMS OTP callback parameters", "citcall", "",
             {"trxid": TRX, "result": "Success", "description": "Delivered", "reportedDate": "2019-01-30 10:00:00",
              "currency": "IDR", "price": "300", "token": "12345"},
             update(reference=TRX, state="delivered", kind="smsotp")),
    *[rc_case(line) for line in CITCALL_RESPONSE_CODES.splitlines()],
    Fact("citcall §5.2 dial status 180, 183 and 2xx succeed", sip_codes(True, ["180", "183", "200", "201", "204"])),
    Fact("citcall §5.2 other SIP codes do not", sip_codes(False, ["100", "486", "480", "404", "503", "603"])),
]

# --- Airtel CCP (airtel-ccp-click-to-call.txt) ---------------------------------------------------------------

AIRTEL_REQUEST = """{
    "callFlowId": "{{callFlowId}}",
    "customerId": "{{customerId}}",
    "callType": "OUTBOUND",
    "callFlowConfiguration": {
        "initiateCall_1": {
            "callerId": "{{callerId}}",
            "mergingStrategy": "SEQUENTIAL",
            "participants": [
                {
                    "participantAddress": "{{participantAddress}}",
                    "callerId": "{{callerId}}",
                    "participantName": "A",
                    "maxRetries": 1,
                    "maxTime": 0
                }
            ],
            "maxTime": 0,
            "callBackURLs": [
                {
                    "eventType": "CDR",
                    "notifyURL": "{{cdrNotifyUrl}}",
                    "method": "POST",
                    "headers": {}
                },
                {
                    "eventType": "ALL",
                    "notifyURL": "{{eventsNotifyUrl}}",
                    "method": "POST",
                    "headers": {}
                }
            ]
        },
        "addParticipant_1": {
            "mergingStrategy": "SEQUENTIAL",
            "maxTime": 0,
            "participants": [
                {
                    "participantAddress": "{{participantAddress}}",
                    "callerId": "{{callerId}}"
                }
            ]
        }
    }
}"""
# The sample's second part, printed after the first closed (participant B and the record component).
AIRTEL_REQUEST_REST = """        "callerId": "{{callerId}}",
        "participantName": "B",
        "maxRetries": 1,
        "maxTime": 0,
        "enableEarlyMedia": true
    }
]
},
"record": {
    "enabled": true
}"""
AIRTEL_RESPONSE = """{
  "status": "success", "correlationId": "Xchange123863"
}"""
AIRTEL_200_TABLE = """{ "correlationId": <correlation_id> }"""
AIRTEL_400 = """{ "httpStatus": 400, "displayMessage": null, "errorMessage": <error_msg>, "errorCode": <error_code>, "errorType": null, "apiPath": null, "errorDetails": null, "resourceLayer": "CONTROLLER", "errorMeta": null }"""  # noqa: E501
AIRTEL_ERROR_CODES = """{ "INCORRECT_CALL_FLOW_ID": "incorrect call flow id" } { "CUSTOMER_DETAILS_NOT_AVAILABLE": "cpm details not found" } { "INCORRECT_CUSTOMER_ID": "incorrect customerId" } { "INVALID_CALLER_ID": "invalid called id" } { "CALLER_ID_REGEX_ERROR": "Incorrect number" } { "DUPLICATE_PARTICIPANT_ADDRESS_FOUND": "participant address cannot be duplicate" } { "UNABLE_TO_CREATE_SECRET_KEY": "unable to create secret key data" } { "CLICK_TO_CALL_REQUEST_NULL_ERROR": "click to call request cannot be null/blank" }
{ "FROM_BODY_NULL_ERROR": "from body cannot be null/blank", "TO_BODY_NULL_ERROR": "to body cannot be null/blank", "CUSTOMER_ID_NULL_ERROR": "customerId cannot be null/blank", "CALL_FLOW_ID_NULL_ERROR": "callflowId cannot be null/blank", "CALLER_ID_REGEX_ERROR": "caller Id not valid", "ROUNDROBIN_AGENT_ID_MISSING": "Agent Pool Id cannot be null/empty in case of Round Robin", "ROUNDROBIN_PARTICIPANT_DATA_NOT_ALLOWED": "Participant List not allowed in case of Round Robin. Please provide Agent pool Id" } { "FROM_NUMBER_NULL_ERROR": "There should be atleast one participant in from", "FROM_PARTICIPANT_NUMBER_NULL_ERROR": "from participant number null error", "FROM_PARTICIPANT_NUMBER_REGEX_ERROR": "from participant number not valid", "FROM_PARTICIPANT_MAX_RETRIES_GREATER_THAN_REQUIRED_VALUE": "Max retries can't be greater than 3", "CALLER_ID_NULL_ERROR": "caller Id required", "TO_NUMBER_NULL_ERROR": "There should be atleast one participant in to", "TO_PARTICIPANT_NUMBER_NULL_ERROR": "to participant number null error", "TO_PARTICIPANT_NUMBER_REGEX_ERROR": "to participant number not valid", "TO_PARTICIPANT_MAX_RETRIES_GREATER_THAN_REQUIRED_VALUE": "Max retries can't be greater than 3", "CONFERENCE_MERGING_STRATEGY_NOT_ALLOWED_FOT_TO_NUMBER": "CONFERENCE merging strategy not allowed in toNumber" }"""  # noqa: E501
AIRTEL_401 = """{"message": "Unauthorized"}"""
AIRTEL_500 = """{ "httpStatus": 500, "displayMessage": null, "errorMessage": "2", "errorCode": "AIRTEL_ONLINE_UNCAUGHT_ERROR", "errorType": null, "apiPath": null, "errorDetails": null, "resourceLayer": "UNKNOWN", "errorMeta": null }"""  # noqa: E501
AIRTEL_EVENT = """{
  "eventType": "CALL",
  "participantAddress": "{{ participantAddress }}",
  "event": "Removed",
  "time": "2020-02-26T12:19:46.399+0000",
  "metaData": {
    "causeCode": "16",
    "sipCode": "699",
    "causeCodeDescription": "Normal call clearing"
  }
}"""
AGENT, CUSTOMER = "+919876543210", "+919812345678"


def airtel_body(seen, sample):
    ours = seen["json"]
    all_keys(json.loads(sample), ours)
    initiate = ours["callFlowConfiguration"]["initiateCall_1"]
    assert [(cb["eventType"], cb["method"], cb["headers"]) for cb in initiate["callBackURLs"]] == [
        ("CDR", "POST", {}), ("ALL", "POST", {})]
    # The rest of the sample: participant B's fields and the record component.
    customer = ours["callFlowConfiguration"]["addParticipant_1"]["participants"][0]
    for name in re.findall(r'"(\w+)":', AIRTEL_REQUEST_REST.split("}")[0]):
        assert name in customer, name
    assert customer["enableEarlyMedia"] is True and ours["callFlowConfiguration"]["record"] == {"enabled": True}


def airtel_auth(seen, sample):
    assert seen["headers"]["Authorization"] == sample.split(": ", 1)[1]


def airtel_error_case(pair, index):
    code, message = pair
    body = AIRTEL_400.replace("<error_msg>", json.dumps(message)).replace("<error_code>", json.dumps(code))
    return Answer(f"airtel §2 400 {code} ({index})", "airtel", body, lambda c: c.click_to_call(AGENT, CUSTOMER),
                  refused(code), status=400)


def place(client):
    return client.click_to_call(AGENT, CUSTOMER, call_ref="0123456789abcdef")


AIRTEL = [
    Request("airtel §1.1 authorization example", "airtel", "Authorization: Basic ZGVtbzpwQDU1dzByZA==", place,
            airtel_auth, answer=AIRTEL_RESPONSE),
    Request("airtel §1.4 sample request", "airtel", AIRTEL_REQUEST, place, airtel_body, answer=AIRTEL_RESPONSE),
    Answer("airtel §2 sample response", "airtel", AIRTEL_RESPONSE, place, has(correlation_id="Xchange123863")),
    Answer("airtel §2 200 response table", "airtel",
           AIRTEL_200_TABLE.replace("<correlation_id>", '"Xchange123863"'), place,
           has(correlation_id="Xchange123863")),
    *[airtel_error_case(pair, index) for index, pair in
      enumerate(re.findall(r'"([A-Z_]+)": "([^"]*)"', AIRTEL_ERROR_CODES))],
    Answer("airtel §2 401", "airtel", AIRTEL_401, place, refused("unauthorized"), status=401),
    Answer("airtel §2 500", "airtel", AIRTEL_500, place, refused("bad_status", outcome_known=False), status=500),
    Callback("airtel §3 real time event", "airtel", "events", json.loads(AIRTEL_EVENT),
             update(reference="", state=None, provider_status="Removed",
                    details={"cause_code": "16", "sip_code": "699", "event_type": "CALL"})),
    Callback("airtel §3 real time event at the call's own URL", "airtel", "events/0123456789abcdef",
             json.loads(AIRTEL_EVENT), update(reference="", state=None, details={"call_ref": "0123456789abcdef"})),
]

# --- OCA (oca-call-gateway.txt: property tables, no JSON printed) --------------------------------------------

OCA_HTTP_CODES = """401
Unauthorized
404
Not Found
406
Not Acceptable
500
Internal Server Error"""
OCA_ERROR_CODES = """13 | Internal Error | Corresponds with HTTP 500. An unknown internal error occured |
17 | Invalid Authentication Credentials | Corresponds with HTTP 401. It indicates the credential is missing or incorrect |
19 | Missing Authorization Header | Corresponds with HTTP 406. It indicates Authorization header is not set properly |
33 | Setting Is Not Exist |
39 | [object] | Corresponds with HTTP 406. There are incorrects or missing parameter in request body, it is like the message_value is not same as the template message |
41 | User Is Not Exist | Corresponds with HTTP 404. The certain user setting is not found |
51 | Account Expired | Corresponds with HTTP 401. It indicates the client Account is Expired. |
55 | Your Quota Is not Enough | Corresponds with HTTP 401. It indicates the client Quota is Runs Out. |
57 | Reached Maximum Concurrent Call Limit | Corresponds with HTTP 401. It indicates the concurrent limit of call is exceed |"""  # noqa: E501
OCA_BARE_STATUS = {401: "unauthorized", 404: "not_found", 406: "not_acceptable", 500: "bad_status"}
OCA_CALL_STATUS = {
    "from_number": "02180602000", "to_number": "081234560000", "ivr_id": "ivr-1", "call_id": "call-1",
    "call_start": "2024-07-31T18:01:06.000Z", "call_answer": "2024-07-31T18:01:26.000Z",
    "call_end": "2024-07-31T18:01:32.000Z", "duration": 26, "talk_duration": 6, "tta": 20,
    "hangup_cause": "NORMAL_CLEARING", "created_at": "2024-07-31T18:01:00.000Z",
    "updated_at": "2024-07-31T18:01:33.000Z", "result": [],
}
OCA_STATES = {"submitted": "submitted", "success": "delivered", "failed": "failed"}


def oca_error_case(line):
    code, text = (part.strip() for part in line.split("|")[:2])
    status = int(re.search(r"HTTP (\d+)", line).group(1)) if "HTTP" in line else 404
    expected = "bad_status" if status >= 500 else code
    return Answer(f"oca error codes {code}", "oca", json.dumps({"errors": [{"message": text, "code": int(code)}]}),
                  lambda c: c.call("02180602000", "+6281234560000", "ivr-1"),
                  refused(expected, outcome_known=status < 500), status=status)


def oca_http_case(status):
    return Answer(f"oca HTTP status codes {status}", "oca", "", lambda c: c.ivr_list(),
                  refused(OCA_BARE_STATUS[status], outcome_known=status < 500), status=status,
                  content_type="text/plain")


def oca_call_request(seen, sample):
    assert {"from_number", "to_number", "ivr_id"} <= set(seen["json"]) and seen["path"] == "/api/v1/call"


def call_state(expected):
    def check(result):
        has(state=expected)(result)
        update_ = result.to_update()
        assert (update_.reference, update_.state) == ("call-1", expected)
    return check


OCA = [
    Fact("oca authentication example",
         lambda: _equal(basic_auth_header("test@gmail.com", "test123"), "Basic dGVzdEBnbWFpbC5jb206dGVzdDEyMw==")),
    Answer("oca upload audio response", "oca",
           body_of(id="xxxxf03d61fae4001267xxxx", filename="df82.mp3", name="OCA Audio Rekam.mp3",
                   url="https://webapigw.ocatelkom.co.id/audio/play/df82.mp3"),
           lambda c: c.upload_audio("a.mp3", b"ID3"), has(id="xxxxf03d61fae4001267xxxx", name="OCA Audio Rekam.mp3")),
    Request("oca make a call request body", "oca", "from_number | to_number | ivr_id Required",
            lambda c: c.call("02180602000", "+6281234560000", "ivr-1", {"name": "galih"}), oca_call_request,
            answer=body_of(success=True, call_id="call-1")),
    Answer("oca make a call response", "oca", body_of(success=True, call_id="call-1"),
           lambda c: c.call("02180602000", "+6281234560000", "ivr-1"), has(call_id="call-1")),
    *[Answer(f"oca call status {status}", "oca", json.dumps({**OCA_CALL_STATUS, "status": status}),
             lambda c: c.call_status("call-1"), call_state(state)) for status, state in OCA_STATES.items()],
    *[oca_http_case(int(line)) for line in OCA_HTTP_CODES.splitlines() if line.isdigit()],
    *[oca_error_case(line) for line in OCA_ERROR_CODES.splitlines()],
]


def _equal(actual, expected):
    assert actual == expected


CASES = MASKING + CITCALL + AIRTEL + OCA


def test_every_spec_sample_has_one_case_with_its_own_id():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 100


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
def test_spec_sample(case, canned):
    if isinstance(case, Fact):
        case.check()
        return
    if isinstance(case, Callback):
        case.expect(module(case.provider).parse_callback(case.kind, case.payload))
        return
    canned.answers[:] = []
    before = len(canned.seen)
    client = CLIENTS[case.provider](canned.url)
    if isinstance(case, Request):
        canned.answers.append((200, case.answer, "application/json"))
        case.call(client)
        case.expect(canned.seen[before], case.sample)
        return
    canned.answers.append((case.status, case.body, case.content_type))
    try:
        result = case.call(client)
    except ProviderError as exc:
        result = exc
    case.expect(result)
