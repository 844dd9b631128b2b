"""connectors.urls: URLs are compared in the form they are sent in (RFC 3986 normalisation)."""

from __future__ import annotations

import pytest

from connectors.urls import is_under_base, normalise_url, remove_dot_segments

BASE = "https://ehr.example.org/fhir"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("HTTPS://EHR.Example.ORG/fhir/Patient", f"{BASE}/Patient", id="case of scheme and host"),
        pytest.param("https://ehr.example.org:443/fhir", BASE, id="default https port"),
        pytest.param("http://ehr.example.org:80/fhir", "http://ehr.example.org/fhir", id="default http port"),
        pytest.param(
            "https://ehr.example.org:8443/fhir", "https://ehr.example.org:8443/fhir", id="other port"
        ),
        pytest.param("https://ehr.example.org./fhir", BASE, id="trailing dot of the host"),
        pytest.param(f"{BASE}/../admin/x", "https://ehr.example.org/admin/x", id="dot-dot"),
        pytest.param(f"{BASE}/./Patient", f"{BASE}/Patient", id="dot"),
        pytest.param(f"{BASE}/%2e%2e/admin", "https://ehr.example.org/admin", id="encoded dot-dot"),
        pytest.param(f"{BASE}/%2E./admin", "https://ehr.example.org/admin", id="half-encoded dot-dot"),
        pytest.param(f"{BASE}/%50atient", f"{BASE}/Patient", id="encoded unreserved letter"),
        pytest.param(f"{BASE}/a%3ab", f"{BASE}/a%3Ab", id="reserved escape upper-cased, kept"),
        pytest.param(f"{BASE}/Observation?code=a|b#frag", f"{BASE}/Observation?code=a|b", id="query kept"),
        pytest.param("https://ehr.example.org/../../x", "https://ehr.example.org/x", id="above the root"),
        pytest.param("https://ehr.example.org", "https://ehr.example.org/", id="empty path"),
        pytest.param("https://[::1]:8443/fhir", "https://[::1]:8443/fhir", id="IPv6 host"),
    ],
)
def test_normal_form(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://user@ehr.example.org/fhir", id="userinfo"),
        pytest.param("https://user:pw@ehr.example.org/fhir", id="userinfo with password"),
        pytest.param("https://ehr.example.org@evil.example/fhir", id="host as userinfo"),
        pytest.param(f"{BASE}/..%2Fadmin", id="encoded slash"),
        pytest.param(f"{BASE}/..%2fadmin", id="encoded slash, lower case"),
        pytest.param(f"{BASE}/..%5Cadmin", id="encoded backslash"),
        pytest.param(f"{BASE}\\..\\admin", id="backslash"),
        pytest.param(f"{BASE}/..;/admin", id="dot-dot with a path parameter"),
        pytest.param(f"{BASE}/x%00", id="encoded NUL"),
        pytest.param(f"{BASE}/x\ty", id="control character"),
        pytest.param("ftp://ehr.example.org/fhir", id="not http"),
        pytest.param("//ehr.example.org/fhir", id="scheme-relative"),
        pytest.param("Patient/1", id="relative"),
        pytest.param("https://ehr.example.org:99999/fhir", id="port out of range"),
    ],
)
def test_refused(url: str) -> None:
    assert normalise_url(url) is None
    assert not is_under_base(url, BASE)


@pytest.mark.parametrize(
    ("url", "under"),
    [
        pytest.param(f"{BASE}/Observation?page=2", True, id="below"),
        pytest.param(f"{BASE}?page=2", True, id="the base with a query"),
        pytest.param(BASE, True, id="the base"),
        pytest.param("HTTPS://ehr.example.org:443/fhir/./x", True, id="another spelling"),
        pytest.param(f"{BASE}/../unlisted-app/Observation?page=2", False, id="dot-dot out of the base"),
        pytest.param(f"{BASE}/x/../../unlisted-app", False, id="deeper dot-dot out"),
        pytest.param(f"{BASE}/x/../Observation", True, id="dot-dot that stays inside"),
        pytest.param("https://ehr.example.org/fhir-other/x", False, id="sibling prefix"),
        pytest.param("https://ehr.example.org/fhir2", False, id="longer name"),
        pytest.param("http://ehr.example.org/fhir/x", False, id="other scheme"),
        pytest.param("https://ehr.example.org:8443/fhir/x", False, id="other port"),
        pytest.param("https://ehr.example.org.evil.test/fhir/x", False, id="other host"),
    ],
)
def test_under_base(url: str, under: bool) -> None:
    assert is_under_base(url, BASE) is under


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/a/b/c/./../../g", "/a/g"),  # RFC 3986 §5.2.4 example
        ("mid/content=5/../6", "mid/6"),  # RFC 3986 §5.2.4 example
        ("/a/b/..", "/a/"),
        ("/a/./", "/a/"),
        ("/..", "/"),
    ],
)
def test_remove_dot_segments(path: str, expected: str) -> None:
    assert remove_dot_segments(path) == expected
