// Who this browser is in a room: the token the server gave on joining (a participant) or
// on opening the room (the instructor), kept in localStorage per room code.

const key = (code) => `keras-playground-room-${code.toUpperCase()}`;

/** {role: "participant" | "instructor", token, name?, participant?} or null. */
export function membership(code) {
  try {
    return JSON.parse(localStorage.getItem(key(code)) || "null");
  } catch {
    return null;
  }
}

export function remember(code, value) {
  localStorage.setItem(key(code), JSON.stringify(value));
}

export function forget(code) {
  localStorage.removeItem(key(code));
}

/** The room's live stream: onEvent for each `room` and `wall` event; it reconnects by itself. */
export class RoomStream {
  constructor(code, onEvent, onConnection = () => {}) {
    this.code = code;
    this.onEvent = onEvent;
    this.onConnection = onConnection;
    this.closed = false;
    this.retries = 0;
    this.open();
  }

  open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/api/rooms/${this.code}/stream`);
    this.ws = ws;
    ws.onopen = () => { this.retries = 0; this.onConnection("live"); };
    ws.onmessage = (message) => { for (const event of JSON.parse(message.data)) this.onEvent(event); };
    ws.onclose = (close) => {
      if (this.closed || close.code === 4404) { this.onConnection("closed"); return; }
      this.onConnection("reconnecting");
      this.timer = setTimeout(() => this.open(), Math.min(8000, 300 * 2 ** this.retries++));
    };
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.ws?.close();
  }
}
