"""A client cannot make the server buffer big messages on a stream (pages send nothing)."""

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from keras_playground.cli import WS_MAX_MESSAGE_BYTES

from ..real_server import TIMEOUT, Server
from .test_real_server import create, ws_url


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path / "data").start()
    yield running
    running.stop()


def test_a_message_over_the_limit_closes_the_stream_with_1009(server):
    run = create(server, 2000)  # still training while the test speaks
    with connect(ws_url(server, run["id"]), max_size=None) as ws:
        ws.recv(timeout=TIMEOUT)
        with pytest.raises(ConnectionClosed) as closed:
            ws.send("x" * (WS_MAX_MESSAGE_BYTES + 1))
            while True:
                ws.recv(timeout=TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
