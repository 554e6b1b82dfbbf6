"""Tests for a tiny weather client, run against a real understudy server.

The client (`get_forecast`, `report_reading`) is the code under test; understudy stands in for
the weather service. Each test puts the scenario it needs through the admin API, calls the
client, and then asks the journal what the client really sent.
"""

import time

import pytest
import requests

# ---------------------------------------------------------------------------------------------
# The code under test.
# ---------------------------------------------------------------------------------------------


class WeatherUnavailable(Exception):
    pass


def get_forecast(base_url: str, city: str, api_key: str, units: str = "metric",
                 attempts: int = 3) -> dict:
    """GET /v1/forecast?city=…&units=…; retries 503 (with a short backoff) before giving up."""
    for attempt in range(1, attempts + 1):
        resp = requests.get(
            f"{base_url}/v1/forecast",
            params={"city": city, "units": units},
            headers={"X-Api-Key": api_key, "Accept": "application/json"},
            timeout=5,
        )
        if resp.status_code == 503:
            if attempt < attempts:
                time.sleep(0.05 * attempt)
                continue
            raise WeatherUnavailable(f"still 503 after {attempts} attempts")
        resp.raise_for_status()
        return resp.json()
    raise AssertionError("unreachable")


def report_reading(base_url: str, station: str, celsius: float, api_key: str) -> str:
    """POST /v1/readings with a JSON body; returns the reading's id."""
    resp = requests.post(
        f"{base_url}/v1/readings",
        json={"station": station, "celsius": celsius},
        headers={"X-Api-Key": api_key},
        timeout=5,
    )
    if resp.status_code != 202:
        raise RuntimeError(f"reading refused: {resp.status_code} {resp.text}")
    return resp.json()["id"]


# ---------------------------------------------------------------------------------------------
# The weather service, as scenarios.
# ---------------------------------------------------------------------------------------------

API_KEY = "k-123"

WEATHER = {
    "description": "Forecasts and station readings",
    "routes": [
        {
            "id": "forecast",
            "request": {
                "method": "GET",
                "path": "/v1/forecast",
                "query": {"city": "[A-Z][a-z]+", "units": "metric"},
                "headers": {"x-api-key": ".+"},
            },
            "response": {"status": 200, "json": {"city": "Paris", "celsius": 21.5}},
        },
        {
            "id": "reading",
            "request": {
                "method": "POST",
                "path": "/v1/readings",
                "json": {"station": "north-1"},
            },
            "response": {"status": 202, "json": {"id": "r-1"}},
        },
    ],
}

OUTAGE = {
    "routes": [
        {
            "id": "forecast-down",
            "priority": 100,
            "request": {"path": "/v1/forecast"},
            "response": {"status": 503, "headers": {"Retry-After": "1"}},
        }
    ]
}


# ---------------------------------------------------------------------------------------------
# The tests.
# ---------------------------------------------------------------------------------------------


def test_forecast_sends_city_units_and_key(mock):
    mock.put_scenario("weather", WEATHER)

    forecast = get_forecast(mock.url, "Paris", API_KEY)

    assert forecast == {"city": "Paris", "celsius": 21.5}
    # Exactly one request with these query parameters and this header.
    assert mock.count(
        method="GET",
        path="/v1/forecast",
        query={"city": "Paris", "units": "metric"},
        headers={"x-api-key": API_KEY},
    ) == 1
    [entry] = mock.requests()
    assert entry["route"] == "weather/forecast"
    assert entry["status"] == 200
    assert entry["query"] == {"city": "Paris", "units": "metric"}
    assert entry["headers"]["accept"] == "application/json"


def test_forecast_retries_503_then_gives_up(mock):
    mock.put_scenario("weather", WEATHER)
    mock.put_scenario("outage", OUTAGE)  # priority 100 outranks the forecast route

    with pytest.raises(WeatherUnavailable):
        get_forecast(mock.url, "Paris", API_KEY)

    assert mock.count(method="GET", path="/v1/forecast") == 3
    assert [e["status"] for e in mock.requests(route="outage")] == [503, 503, 503]


def test_report_reading_posts_json(mock):
    mock.put_scenario("weather", WEATHER)

    reading_id = report_reading(mock.url, "north-1", 17.25, API_KEY)

    assert reading_id == "r-1"
    # `json` is a subset match: the body must contain these keys with these values.
    assert mock.count(method="POST", path="/v1/readings",
                      json={"station": "north-1", "celsius": 17.25}) == 1
    [entry] = mock.requests(route="weather/reading")
    assert entry["headers"]["content-type"] == "application/json"
    assert entry["bodyTruncated"] is False


def test_near_miss_is_listed_with_the_failed_matcher(mock):
    mock.put_scenario("weather", WEATHER)

    # The client asks for imperial units, which the scenario does not serve: understudy's own
    # 404, and the client turns it into an HTTPError.
    with pytest.raises(requests.HTTPError) as caught:
        get_forecast(mock.url, "Paris", API_KEY, units="imperial")

    assert caught.value.response.headers["x-understudy-unmatched"] == "1"
    [entry] = mock.unmatched()
    assert entry["path"] == "/v1/forecast"
    assert entry["route"] is None
    assert entry["nearMisses"][0] == {"route": "weather/forecast", "mismatches": ["query.units"]}


def test_each_test_starts_with_an_empty_journal(mock):
    # The `mock` fixture resets after every test: nothing from the tests above is left.
    assert mock.requests() == []
    assert mock.count() == 0


def test_bad_scenario_put_is_rejected_with_errors(mock):
    bad = {"routes": [{"request": {"methd": "GET"}, "response": {"status": 700}}]}

    resp = mock.admin("PUT", "/scenarios/broken", json=bad)

    assert resp.status_code == 400
    errors = resp.json()["errors"]
    assert any("methd" in e and "did you mean `method`" in e for e in errors), errors
    # Nothing was created.
    assert mock.admin("GET", "/scenarios/broken").status_code == 404


def test_admin_api_needs_the_token(mock):
    resp = requests.get(f"{mock.url}/__admin/requests", timeout=5)

    assert resp.status_code == 401
    assert resp.headers["www-authenticate"].startswith("Bearer")
