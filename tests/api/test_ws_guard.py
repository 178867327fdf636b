"""The handshake guard: which origins are the same (scheme, host and port, in any case,
default ports implied), and what a refused page is told."""

import pytest
from starlette.websockets import WebSocketDisconnect

from keras_playground.api.ws_guard import allowed_origins, normalise_origin


@pytest.mark.parametrize("text, origin", [
    ("https://lab.example.org", "https://lab.example.org"),
    ("HTTPS://Lab.Example.ORG:443", "https://lab.example.org"),
    ("http://lab.example.org:80/", "http://lab.example.org"),
    ("http://lab.example.org:443", "http://lab.example.org:443"),
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ("http://[::1]:8000", "http://[::1]:8000"),
])
def test_an_origin_is_normalised(text, origin):
    assert normalise_origin(text) == origin


@pytest.mark.parametrize("text", ["null", "", "lab.example.org", "ftp://lab.example.org",
                                  "http://lab.example.org/page", "http://user@lab.example.org",
                                  "http://lab.example.org:99999", "http://lab.example.org:x"])
def test_what_is_not_an_origin(text):
    assert normalise_origin(text) is None


def test_the_setting_is_a_comma_separated_list():
    assert allowed_origins("") == frozenset()
    assert allowed_origins(" https://A.org , http://b.org:8080/,") == {"https://a.org", "http://b.org:8080"}
    with pytest.raises(ValueError, match="'lab.example.org' is not an origin"):
        allowed_origins("https://a.org,lab.example.org")


def close_of(client, path, origin):
    with client.websocket_connect(path, headers={"origin": origin}) as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    return closed.value.code, closed.value.reason


def test_behind_a_proxy_that_ends_tls_the_https_page_is_the_servers_own(client):
    # The proxy passes the browser's Host and speaks plain ws to the server.
    assert close_of(client, "/api/rooms/NOROOM/stream", "https://testserver") == (4404, "unknown room")
    assert close_of(client, "/api/rooms/NOROOM/stream", "http://testserver:80") == (4404, "unknown room")
    assert close_of(client, "/api/rooms/NOROOM/stream", "https://testserver:8443")[0] == 4403


def test_a_typo_in_the_allowed_origins_stops_the_start(tmp_path):
    from fastapi.testclient import TestClient

    from keras_playground.app import create_app
    from keras_playground.config import Settings

    app = create_app(Settings(data_dir=tmp_path, allowed_origins="https://ok.example.org, lab.example.org"))
    with pytest.raises(ValueError, match="'lab.example.org' is not an origin"):
        with TestClient(app):
            pass
