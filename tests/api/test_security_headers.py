"""Every page and answer carries the security headers: only the page's own scripts run."""

import pytest

PAGES = ["/", "/index.html", "/join.html", "/instructor.html", "/presenter.html"]


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["content-security-policy"]
    return {words[0]: words[1:] for words in (d.split() for d in policy.split(";")) if words}


@pytest.mark.parametrize("path", [*PAGES, "/js/main.js", "/static/plotly.min.js", "/api/catalog"])
def test_every_answer_has_a_policy_that_forbids_inline_and_foreign_script(client, path):
    response = client.get(path)
    assert response.status_code == 200
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no other host
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == ["'self'", "ws://testserver"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_websocket_source_follows_the_scheme_and_host_of_the_page(client):
    response = client.get("/", headers={"host": "lab.example.org:8443"})
    assert directives(response)["connect-src"] == ["'self'", "ws://lab.example.org:8443"]
    secure = client.get("https://lab.example.org/presenter.html")  # scheme https: the page's sockets are wss
    assert directives(secure)["connect-src"] == ["'self'", "wss://lab.example.org"]


def test_a_host_header_cannot_add_to_the_policy(client):
    response = client.get("/", headers={"host": "evil; script-src *"})
    policy = directives(response)
    assert policy["connect-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]


def test_refused_and_failed_answers_carry_the_headers_too(make_client):
    client = make_client(max_body_bytes=1000)
    for response in (client.get("/api/runs/nosuchrun"), client.post("/api/runs", content=b"x" * 5000)):
        assert response.status_code in (404, 413)
        assert directives(response)["script-src"] == ["'self'"]
        assert response.headers["x-content-type-options"] == "nosniff"
