// WebSockets that reconnect by themselves, backing off. A run's stream resumes after the
// last event it has (?after=seq), so a dropped connection never loses a point of the
// curve; a room's stream starts again from the room's current view. A stream the server
// says is gone (4404: no such run or room) or refuses (4403: this page's origin is not
// allowed; 4400: a bad request) stops for good and tells its owner why: trying again
// would get the same answer.

import { coerceRunEvent, toId } from "./sanitize.js";

const FINAL = new Set(["done", "error"]);
export const GONE = 4404;
export const REFUSED = 4403;
const BAD_REQUEST = 4400;
const FOR_GOOD = new Set([GONE, REFUSED, BAD_REQUEST]);

export class ReconnectingStream {
  /** path(): the address to (re)open; onEvents(events) for each message (a JSON array);
   * onConnection("live" | "reconnecting" | "closed"); onGone(code, reason): the server closed
   * it for good (GONE, REFUSED, 4400); finished(): stay closed once true. */
  constructor(path, { onEvents, onConnection = () => {}, onGone = () => {}, finished = () => false }) {
    Object.assign(this, { path, onEvents, onConnection, onGone, finished });
    this.closed = false;
    this.retries = 0;
    this.open();
  }

  open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${this.path()}`);
    this.ws = ws;
    ws.onopen = () => { this.retries = 0; this.onConnection("live"); };
    ws.onmessage = (message) => {
      let events;
      try { events = JSON.parse(message.data); } catch { return; } // not ours to read
      if (Array.isArray(events)) this.onEvents(events);
    };
    ws.onclose = (close) => {
      if (FOR_GOOD.has(close.code)) {
        this.closed = true;
        this.onConnection("closed");
        this.onGone(close.code, close.reason);
        return;
      }
      if (this.closed || this.finished()) {
        this.onConnection("closed");
        return;
      }
      // Dropped (network, server restart, or too slow: 4008): try again, backing off.
      this.onConnection("reconnecting");
      this.timer = setTimeout(() => this.open(), Math.min(8000, 300 * 2 ** this.retries++));
    };
  }

  /** Stop listening (a run goes on: watching never controls it). */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.ws?.close();
  }
}

/** What a page says when a stream is gone: `what` is "run" or "room"; `reason` the server's. */
export function goneMessage(what, code, reason = "") {
  if (code === REFUSED) return "This page's address is not allowed to connect to the server.";
  if (code === BAD_REQUEST) return `The server refused this ${what}'s stream${reason ? `: ${reason}` : ""}.`;
  return what === "room" ? "This room does not exist or was closed." : "This run no longer exists on the server.";
}

export class RunStream extends ReconnectingStream {
  /** onEvent(event) for each event of the run, in order, each once, checked (sanitize.js). */
  constructor(runId, { onEvent, onConnection = () => {}, onGone = () => {} }) {
    const state = { lastSeq: 0, ended: false };
    const id = encodeURIComponent(toId(runId) ?? "-");
    super(() => `/api/runs/${id}/stream?after=${state.lastSeq}`, {
      onConnection,
      onGone,
      finished: () => state.ended,
      onEvents: (events) => {
        for (const raw of events) {
          const event = coerceRunEvent(raw);
          if (!event) continue;
          if (event.seq !== undefined) {
            if (!(event.seq > state.lastSeq)) continue; // already had it before a reconnect
            state.lastSeq = event.seq;
          }
          if (FINAL.has(event.kind)) state.ended = true;
          onEvent(event);
        }
      },
    });
    this.runId = runId;
    this.state = state;
  }
}
