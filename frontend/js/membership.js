// Who this browser is in a room: the token the server gave on joining (a participant) or
// on opening the room (the instructor), kept in localStorage per room code; and the
// room's live stream.

import { coerceRoomView, coerceWallEvent } from "./sanitize.js";
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

/** A room's live stream: onEvent for each `room` and `wall` event, checked (sanitize.js);
 * it reconnects by itself, and calls onGone(code) when the room is gone or the page refused. */
export class RoomStream extends ReconnectingStream {
  constructor(code, onEvent, { onConnection = () => {}, onGone = () => {} } = {}) {
    super(() => `/api/rooms/${encodeURIComponent(code)}/stream`, {
      onConnection,
      onGone,
      onEvents: (events) => events.forEach((raw) => {
        const event = raw?.kind === "room" ? coerceRoomView(raw) : raw?.kind === "wall" ? coerceWallEvent(raw) : null;
        if (event) onEvent(event);
      }),
    });
  }
}
