// Who this browser is in a room: the token the server gave on joining (a participant) or
// on opening the room (the instructor), kept in localStorage per room code; and the
// room's live stream.

import { ReconnectingStream } from "./stream.js";

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

/** A room's live stream: onEvent for each `room` and `wall` event; it reconnects by itself. */
export class RoomStream extends ReconnectingStream {
  constructor(code, onEvent, onConnection = () => {}) {
    super(() => `/api/rooms/${code}/stream`, { onEvents: (events) => events.forEach(onEvent), onConnection });
  }
}
