"""JSON Schema `format`s checked as Backstage's wizard checks them.

Backstage validates parameters with react-jsonschema-form's AJV validator and `ajv-formats`, which
checks every standard format (python-jsonschema checks `date-time` and `uri` only when optional
packages are installed, and its `time` is draft 3's, which refuses `10:00:00Z`). These follow
ajv-formats' full mode; an unknown format is accepted, as AJV does with `strict: false`.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from datetime import date

import jsonschema

_DATE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)$")
_TIME = re.compile(r"^(\d\d):(\d\d):(\d\d(?:\.\d+)?)(z|[+-]\d\d(?::?\d\d)?)?$", re.IGNORECASE)
_DURATION = re.compile(r"^P(?!$)((\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?|(\d+W)?)$")
_URI = re.compile(r"^[a-z][a-z0-9+.-]*:[^\s]*$", re.IGNORECASE)
_URI_REFERENCE = re.compile(r"^[^\s]*$")
_URL = re.compile(r"^(?:https?|ftp)://[^\s/?#]+[^\s]*$", re.IGNORECASE)
_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$",
    re.IGNORECASE,
)
_HOSTNAME = re.compile(
    r"^(?=.{1,253}\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[-0-9a-z]{0,61}[0-9a-z])?)*\.?$",
    re.IGNORECASE,
)
_JSON_POINTER = re.compile(r"^(?:/(?:[^~/]|~0|~1)*)*$")
_RELATIVE_JSON_POINTER = re.compile(r"^(?:0|[1-9][0-9]*)(?:#|(?:/(?:[^~/]|~0|~1)*)*)$")
_BYTE = re.compile(r"^(?:[a-z0-9+/]{4})*(?:[a-z0-9+/]{2}==|[a-z0-9+/]{3}=)?$", re.IGNORECASE)
_URI_TEMPLATE = re.compile(r"^(?:[^\x00-\x20\"'<>%\\^`{|}]|%[0-9a-f]{2}|\{[+#./;?&=,!@|]?"
                           r"(?:[a-z0-9_]|%[0-9a-f]{2})+(?::[1-9][0-9]{0,3}|\*)?"
                           r"(?:,(?:[a-z0-9_]|%[0-9a-f]{2})+(?::[1-9][0-9]{0,3}|\*)?)*\})*$",
                           re.IGNORECASE)  # fmt: skip

FORMAT_CHECKER = jsonschema.FormatChecker(formats=())


def _format(name: str) -> Callable[[Callable[[object], bool]], Callable[[object], bool]]:
    return FORMAT_CHECKER.checks(name, raises=(ValueError, TypeError, re.error))


@_format("date")
def is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    match = _DATE.match(value)
    if not match:
        return False
    date(int(match[1]), int(match[2]), int(match[3]))  # ValueError for 2023-02-30
    return True


@_format("time")
def is_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    match = _TIME.match(value)
    if not match:
        return False
    hour, minute, second = int(match[1]), int(match[2]), float(match[3])
    return hour <= 23 and minute <= 59 and second < 61  # 60: a leap second


@_format("date-time")
def is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    day, sep, clock = value.partition("T") if "T" in value else value.partition("t")
    if not sep:
        day, sep, clock = value.partition(" ")
    clock_match = _TIME.match(clock)
    # RFC 3339 date-times carry their time zone.
    return (
        bool(sep)
        and clock_match is not None
        and bool(clock_match[4])
        and is_date(day)
        and is_time(clock)
    )


@_format("duration")
def is_duration(value: object) -> bool:
    return not isinstance(value, str) or bool(_DURATION.match(value))


@_format("uri")
def is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI.match(value))


@_format("uri-reference")
def is_uri_reference(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI_REFERENCE.match(value))


@_format("uri-template")
def is_uri_template(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI_TEMPLATE.match(value))


@_format("url")
def is_url(value: object) -> bool:
    return not isinstance(value, str) or bool(_URL.match(value))


@_format("email")
def is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.match(value))


@_format("hostname")
def is_hostname(value: object) -> bool:
    return not isinstance(value, str) or bool(_HOSTNAME.match(value))


@_format("ipv4")
def is_ipv4(value: object) -> bool:
    if not isinstance(value, str):
        return True
    ipaddress.IPv4Address(value)
    return True


@_format("ipv6")
def is_ipv6(value: object) -> bool:
    if not isinstance(value, str):
        return True
    ipaddress.IPv6Address(value)
    return True


@_format("uuid")
def is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return True
    text = value.removeprefix("urn:uuid:")
    return len(text) == 36 and str(uuid.UUID(text)) == text.lower()


@_format("regex")
def is_regex(value: object) -> bool:
    if not isinstance(value, str):
        return True
    re.compile(value)
    return True


@_format("json-pointer")
def is_json_pointer(value: object) -> bool:
    return not isinstance(value, str) or bool(_JSON_POINTER.match(value))


@_format("relative-json-pointer")
def is_relative_json_pointer(value: object) -> bool:
    return not isinstance(value, str) or bool(_RELATIVE_JSON_POINTER.match(value))


@_format("byte")
def is_byte(value: object) -> bool:
    return not isinstance(value, str) or bool(_BYTE.match(value))


@_format("int32")
def is_int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@_format("int64")
def is_int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


FORMAT_MESSAGES = {
    "date": "a date like 2026-12-31",
    "time": "a time like 10:00:00 or 10:00:00Z",
    "date-time": "a date and time like 2026-12-31T10:00:00Z",
    "duration": "a duration like P3D or PT1H30M",
    "uri": "a URI like https://example.com/path",
    "uri-reference": "a URI or a relative reference without spaces",
    "uri-template": "a URI template like https://example.com/{id}",
    "url": "a URL like https://example.com",
    "email": "an e-mail address like name@example.com",
    "hostname": "a host name like api.example.com",
    "ipv4": "an IPv4 address like 192.0.2.1",
    "ipv6": "an IPv6 address like 2001:db8::1",
    "uuid": "a UUID like 123e4567-e89b-12d3-a456-426614174000",
    "regex": "a valid regular expression",
    "json-pointer": "a JSON pointer like /a/b",
    "relative-json-pointer": "a relative JSON pointer like 0/a",
    "byte": "base64 text",
    "int32": "a 32-bit whole number",
    "int64": "a 64-bit whole number",
}


def format_message(name: str) -> str:
    return f"Must be {FORMAT_MESSAGES.get(name, f'in the {name} format')}."
