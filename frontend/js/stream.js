// WebSockets that reconnect by themselves, backing off. A run's stream resumes after the
// last event it has (?after=seq), so a dropped connection never loses a point of the
// curve; a room's stream starts again from the room's current view.

const FINAL = new Set(["done", "error"]);

export class ReconnectingStream {
  /** path(): the address to (re)open; onEvents(events) for each message (a JSON array);
   * onConnection("live" | "reconnecting" | "closed"); finished(): stay closed once true. */
  constructor(path, { onEvents, onConnection = () => {}, finished = () => false }) {
    Object.assign(this, { path, onEvents, onConnection, finished });
    this.closed = false;
    this.retries = 0;
    this.open();
  }

  open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${this.path()}`);
    this.ws = ws;
    ws.onopen = () => { this.retries = 0; this.onConnection("live"); };
    ws.onmessage = (message) => this.onEvents(JSON.parse(message.data));
    ws.onclose = (close) => {
      if (this.closed || this.finished() || close.code === 4404) {
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

export class RunStream extends ReconnectingStream {
  /** onEvent(event) for each event of the run, in order, each once. */
  constructor(runId, { onEvent, onConnection = () => {} }) {
    const state = { lastSeq: 0, ended: false };
    super(() => `/api/runs/${runId}/stream?after=${state.lastSeq}`, {
      onConnection,
      finished: () => state.ended,
      onEvents: (events) => {
        for (const event of events) {
          if (event.seq !== undefined) {
            if (event.seq <= state.lastSeq) continue; // already had it before a reconnect
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
