"""Data-loss protection (issue 26 item 4): detectors per direction — arguments going out,
results coming back — allow, redact or block; the audit records counts, never values."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditEvent
from connections import dlp

CARD = "4111 1111 1111 1111"  # Luhn-valid test number
NOT_A_CARD = "4111 1111 1111 1112"
TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def protect(value, direction="results", **detectors):
    settings = {"detectors": {k: {direction: v} for k, v in detectors.items()}}
    return dlp.protect(value, settings=dlp.clean_settings(settings), direction=direction)


@pytest.mark.parametrize(
    ("detector", "text", "found"),
    [
        ("email", "write to dana.m+work@example.co.uk today", True),
        ("email", "no address here @ all", False),
        ("phone", "call +44 20 7946 0958 now", True),
        ("phone", "or (415) 555-0132", True),
        ("phone", "item 1234567890 on board 4001", False),
        ("card", f"pay with {CARD}", True),
        ("card", f"not {NOT_A_CARD} (fails Luhn)", False),
        ("iban", "IBAN GB82 WEST 1234 5698 7654 32", True),
        ("iban", "GB00 WEST 1234 5698 7654 32 (bad checksum)", False),
        ("national_id", "SSN 536-90-4399", True),
        ("national_id", "SSN 000-12-3456 (never issued)", False),
        ("secret", f"token {TOKEN}", True),
        ("secret", "AKIAIOSFODNN7EXAMPLE is an AWS key id", True),
        ("secret", "item_4001_launch_plan_2026", False),
    ],
)
def test_detectors_find_what_they_name_and_not_lookalikes(detector, text, found):
    redacted, counts = protect({"text": text}, **{detector: "redact"})
    assert bool(counts) is found, (text, counts)
    assert (f"[redacted:{detector}]" in redacted["text"]) is found


def test_redaction_walks_nested_results_and_block_refuses():
    value = {"items": [{"owner": "a@b.example", "notes": ["card " + CARD]}], "n": 3}
    redacted, counts = protect(value, email="redact", card="redact")
    assert redacted == {
        "items": [{"owner": "[redacted:email]", "notes": ["card [redacted:card]"]}],
        "n": 3,
    }
    assert counts == {"email": 1, "card": 1}
    with pytest.raises(dlp.DataBlocked):
        protect(value, email="block")


def test_settings_are_checked():
    for bad in (
        {"detectors": {"nope": {"results": "redact"}}},
        {"detectors": {"email": {"results": "shred"}}},
        {"custom": {"ticket": "("}},
        {"custom": {"email": "x"}},
    ):
        with pytest.raises(Exception) as raised:
            dlp.clean_settings(bad)
        assert getattr(raised.value, "code", "") == "invalid_data_protection"


def test_through_the_api_arguments_are_redacted_results_withheld_and_audited(api, alice, boards):
    settings = {
        "detectors": {
            "email": {"arguments": "redact", "results": "redact"},
            "card": {"arguments": "block"},
        },
        "custom": {"ticket": r"TCK-\d+"},
    }
    saved = api.put("/api/v1/data-protection", settings, format="json")
    assert saved.status_code == 200, saved.content
    assert saved.json()["detectors"]["secret"] == {"arguments": "allow", "results": "allow"}
    ticket = {
        "detectors": {**settings["detectors"], "ticket": {"results": "block"}},
        "custom": settings["custom"],
    }
    assert api.put("/api/v1/data-protection", ticket, format="json").status_code == 200

    def execute(**params):
        return api.post(
            "/api/v1/tools/execute",
            {
                "identifier": alice.user.identifier,
                "tool_name": "monday_create_item",
                "params": params,
            },
            format="json",
        )

    made = execute(board_id="1001", item_name="Mail dana@example.com")
    assert made.status_code == 200, made.content
    stored = [i["name"] for i in boards.items.values() if i["name"].startswith("Mail")]
    assert stored == ["Mail [redacted:email]"]  # what went out to the provider
    event = AuditEvent.objects.filter(action="tool.executed").latest("created_at")
    assert event.metadata["dlp_arguments"] == {"email": 1}
    assert "dana@example.com" not in json.dumps(event.metadata)

    blocked = execute(board_id="1001", item_name=f"Card {CARD}")
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "data_blocked"
    assert not [i for i in boards.items.values() if i["name"].startswith("Card")]

    boards.add_item(1001, "Refund for TCK-4411")
    listed = api.post(
        "/api/v1/tools/execute",
        {
            "identifier": alice.user.identifier,
            "tool_name": "monday_list_items",
            "params": {"board_id": "1001"},
        },
        format="json",
    ).json()
    assert listed["data"]["withheld"] is True and "TCK-4411" not in json.dumps(listed)
    event = AuditEvent.objects.filter(action="tool.executed").latest("created_at")
    assert event.metadata["dlp_results"] == {"ticket": 1, "withheld": 1}


def test_admin_regexes_run_in_linear_time_and_unsupported_ones_are_refused(api, alice):
    """(a+)+$ against 40 a's and a b backtracks for hours in Python's re; on RE2 it is
    instant, so one organization's pattern cannot stall a worker every tenant shares."""
    settings = dlp.clean_settings(
        {"custom": {"slow": "(a+)+$"}, "detectors": {"slow": {"results": "redact"}}}
    )
    value, found = dlp.protect({"text": "a" * 40 + "b"}, settings=settings, direction="results")
    assert found == {} and value == {"text": "a" * 40 + "b"}
    refused = api.put(
        "/api/v1/data-protection",
        {"detectors": {}, "custom": {"ahead": "(?=secret)"}},
        format="json",
    )
    assert refused.status_code in (400, 422)
    assert "RE2" in refused.json()["error"]["message"]
    rule = api.post(
        "/api/v1/policy-rules",
        {
            "name": "slow",
            "effect": "deny",
            "conditions": [{"path": "$.item_name", "op": "regex", "value": "(x+x+)+y"}],
        },
        format="json",
    )
    assert rule.status_code == 201  # RE2 runs it in linear time
    answer = api.post(
        "/api/v1/tools/execute",
        {
            "identifier": alice.user.identifier,
            "tool_name": "monday_get_me",
            "params": {},
        },
        format="json",
    )
    assert answer.status_code == 200
