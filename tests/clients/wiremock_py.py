"""The PyPI `wiremock` client (2.7.x) against a server on localhost:PORT (argument 1): either
understudy (`serve --admin-api wiremock`) or the real WireMock 3.13.2, which must both pass.
Each step prints `ok: STEP`; the last line is `ALL OK`. A wrong answer or a client error is
an exception and a non-zero exit.

Run: $WIREMOCK_PYTHON wiremock_py.py PORT
"""

import sys

import requests
from wiremock.constants import Config
from wiremock.exceptions import NotFoundException
from wiremock.resources.mappings import HttpMethods, Mapping, MappingRequest, MappingResponse
from wiremock.resources.mappings.resource import Mappings
from wiremock.resources.near_misses import NearMissMatchPatternRequest, NearMissMatchRequest
from wiremock.resources.near_misses.resource import NearMisses
from wiremock.resources.requests.resource import Requests
from wiremock.resources.scenarios.resource import Scenarios
from wiremock.resources.settings import GlobalSetting
from wiremock.resources.settings.resource import GlobalSettings

BASE = f"http://localhost:{int(sys.argv[1])}"
Config.base_url = BASE + "/__admin"
Config.timeout = 10


def step(name):
    print(f"ok: {name}", flush=True)


def call(method, path, **kwargs):
    return requests.request(method, BASE + path, timeout=10, **kwargs)


def reset_journal():
    """`Requests.reset_request_journal` is `POST /__admin/requests/reset`, which WireMock 3
    dropped (404; understudy keeps it): prints which, then clears with `DELETE`."""
    try:
        Requests.reset_request_journal()
        print("reset_request_journal: 200", flush=True)
    except NotFoundException:
        print("reset_request_journal: 404", flush=True)
        requests.delete(BASE + "/__admin/requests", timeout=10).raise_for_status()


def update_settings(fixed_delay):
    """`GlobalSettings.update_global_settings` parses the answer as JSON: WireMock 3 answers
    with an empty body (the settings change all the same), understudy with `{}`; prints which."""
    try:
        GlobalSettings.update_global_settings(GlobalSetting(fixed_delay=fixed_delay))
        print("update_global_settings: JSON answer", flush=True)
    except requests.exceptions.JSONDecodeError:
        print("update_global_settings: empty answer", flush=True)


def expect(resp, status, body=None):
    assert resp.status_code == status, f"{resp.request.method} {resp.url}: {resp.status_code} {resp.text!r}"
    if body is not None:
        assert resp.text == body, f"{resp.url}: {resp.text!r} != {body!r}"


# Start clean.
Mappings.delete_all_mappings()
reset_journal()
Scenarios.reset_all_scenarios()
step("reset")

hello = Mappings.create_mapping(
    Mapping(
        priority=1,
        request=MappingRequest(
            method=HttpMethods.GET,
            url_path="/py/hello",
            query_parameters={"who": {"equalTo": "py"}},
            headers={"Accept": {"contains": "json"}},
        ),
        response=MappingResponse(status=200, json_body={"hi": "py"}, headers={"X-From": "py"}),
        metadata={"suite": "py"},
    )
)
assert hello.id, hello
assert hello.priority == 1, hello.priority
assert hello.response.json_body == {"hi": "py"}, hello.response.json_body
assert hello.request.url_path == "/py/hello"
items = Mappings.create_mapping(
    Mapping(
        request=MappingRequest(
            method=HttpMethods.POST,
            url="/py/items",
            body_patterns=[{"equalToJson": {"name": "tea"}, "ignoreExtraElements": True}],
        ),
        response=MappingResponse(status=201, body="created", status_message="Made"),
        metadata={"suite": "other"},
    )
)
assert items.id and items.id != hello.id
step("create_mapping")

resp = call("GET", "/py/hello?who=py", headers={"Accept": "application/json"})
expect(resp, 200)
assert resp.json() == {"hi": "py"}, resp.text
assert resp.headers.get("X-From") == "py", resp.headers
expect(call("POST", "/py/items", json={"name": "tea", "size": 2}), 201, "created")
expect(call("GET", "/py/hello?who=someone", headers={"Accept": "application/json"}), 404)
step("call stubs")

everything = Mappings.retrieve_all_mappings()
assert everything.meta.total == 2, everything.meta.total
assert {m.id for m in everything.mappings} == {hello.id, items.id}
one = Mappings.retrieve_mapping(hello.id)
assert one.id == hello.id and one.request.url_path == "/py/hello" and one.priority == 1
assert one.metadata == {"suite": "py"}, one.metadata
step("retrieve_all_mappings, retrieve_mapping")

hello.response = MappingResponse(status=200, body="updated")
updated = Mappings.update_mapping(hello)
assert updated.id == hello.id and updated.response.body == "updated", updated
expect(call("GET", "/py/hello?who=py", headers={"Accept": "application/json"}), 200, "updated")
assert Mappings.retrieve_mapping(hello.id).response.body == "updated"
step("update_mapping")

journal = Requests.get_all_received_requests()
assert journal.meta.total == 4, journal.meta.total
assert journal.requests[0].request.url == "/py/hello?who=py", journal.requests[0].request.url
assert journal.requests[0].request.method == "GET"
assert journal.requests[-1].request.url == "/py/hello?who=py"
assert any(r.request.body == '{"name": "tea", "size": 2}' for r in journal.requests), [
    r.request.body for r in journal.requests
]
assert journal.request_journal_disabled is False
latest = Requests.get_all_received_requests(limit=1)
assert len(latest.requests) == 1 and latest.meta.total == 4
# The Python models keep no serve event id; read it from the raw list.
first_id = requests.get(BASE + "/__admin/requests", timeout=10).json()["requests"][0]["id"]
single = Requests.get_request(first_id)
assert single.request.url == "/py/hello?who=py", single.request.url
step("get_all_received_requests, get_request")

count = Requests.get_matching_request_count(
    NearMissMatchPatternRequest(url_path="/py/hello", method="GET")
)
assert count.count == 3, count.count
found = Requests.get_matching_requests(NearMissMatchPatternRequest(url="/py/items", method="POST"))
assert len(found.requests) == 1 and found.requests[0].url == "/py/items", found.requests
assert found.requests[0].headers, found.requests[0].headers
unmatched = Requests.get_unmatched_requests()
assert [r.url for r in unmatched.requests] == ["/py/hello?who=someone"], unmatched.requests
misses = Requests.get_unmatched_requests_near_misses()
assert len(misses.near_misses) >= 1, misses.near_misses
assert misses.near_misses[0].request.url == "/py/hello?who=someone"
assert misses.near_misses[0].match_result.distance > 0
step("count, find, unmatched, unmatched near misses")

by_request = NearMisses.find_nearest_misses_by_request(
    NearMissMatchRequest(url="/py/hello?who=py", method="POST", absolute_url=BASE + "/py/hello?who=py")
)
assert len(by_request.near_misses) >= 1, by_request.near_misses
assert by_request.near_misses[0].match_result.distance > 0
by_pattern = NearMisses.find_nearest_misses_by_request_pattern(
    NearMissMatchPatternRequest(url="/py/itemz", method="POST")
)
assert len(by_pattern.near_misses) >= 1, by_pattern.near_misses
assert by_pattern.near_misses[0].request.url == "/py/items", by_pattern.near_misses[0].request.url
step("near misses by request and by pattern")

for mapping in [
    Mapping(
        request=MappingRequest(method="GET", url="/py/light"),
        response=MappingResponse(body="off"),
        scenario_name="light",
        required_scenario_state="Started",
    ),
    Mapping(
        request=MappingRequest(method="POST", url="/py/light"),
        response=MappingResponse(status=204),
        scenario_name="light",
        required_scenario_state="Started",
        new_scenario_state="on",
    ),
    Mapping(
        request=MappingRequest(method="GET", url="/py/light"),
        response=MappingResponse(body="on"),
        scenario_name="light",
        required_scenario_state="on",
    ),
]:
    Mappings.create_mapping(mapping)
expect(call("GET", "/py/light"), 200, "off")
expect(call("POST", "/py/light"), 204, "")
expect(call("GET", "/py/light"), 200, "on")
Scenarios.reset_all_scenarios()
expect(call("GET", "/py/light"), 200, "off")
step("scenarios, reset_all_scenarios")

update_settings(5)
settings = requests.get(BASE + "/__admin/settings", timeout=10).json()
assert settings["settings"]["fixedDelay"] == 5, settings
update_settings(0)
step("update_global_settings")

Mappings.delete_mapping(items.id)
expect(call("POST", "/py/items", json={"name": "tea"}), 404)
Mappings.delete_mapping_by_metadata({"matchesJsonPath": {"expression": "$.suite", "equalTo": "py"}})
expect(call("GET", "/py/hello?who=py", headers={"Accept": "application/json"}), 404)
assert Mappings.retrieve_all_mappings().meta.total == 3
step("delete_mapping, delete_mapping_by_metadata")

Mappings.persist_mappings()
Mappings.delete_all_mappings()
assert Mappings.retrieve_all_mappings().meta.total == 0
expect(call("GET", "/py/light"), 404)
Mappings.reset_mappings()
# Saved stubs are persistent: deleting them all deleted their files, so none come back.
restored = Mappings.retrieve_all_mappings()
assert restored.meta.total == 0, [m.request.url for m in restored.mappings]
step("persist_mappings, delete_all_mappings, reset_mappings")

reset_journal()
assert Requests.get_all_received_requests().meta.total == 0
assert Requests.get_unmatched_requests().requests == []
step("reset_request_journal")

print("ALL OK")
