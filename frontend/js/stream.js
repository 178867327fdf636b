// A run's event stream over a WebSocket that reconnects by itself: it resumes after the
// last event it has (?after=seq), so a dropped connection never loses a point of the curve.

const FINAL = new Set(["done", "error"]);

export class RunStream {
  /** onEvent(event) for each event in order; onConnection("live" | "reconnecting" | "closed"). */
  constructor(runId, { onEvent, onConnection = () => {} }) {
    this.runId = runId;
    this.onEvent = onEvent;
    this.onConnection = onConnection;
    this.lastSeq = 0;
    this.ended = false;
    this.closed = false;
    this.retries = 0;
    this.open();
  }

  open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/api/runs/${this.runId}/stream?after=${this.lastSeq}`);
    this.ws = ws;
    ws.onopen = () => { this.retries = 0; this.onConnection("live"); };
    ws.onmessage = (message) => {
      for (const event of JSON.parse(message.data)) {
        if (event.seq !== undefined) {
          if (event.seq <= this.lastSeq) continue; // already had it before a reconnect
          this.lastSeq = event.seq;
        }
        if (FINAL.has(event.kind)) this.ended = true;
        this.onEvent(event);
      }
    };
    ws.onclose = (close) => {
      if (this.closed || this.ended || close.code === 4404) {
        this.onConnection("closed");
        return;
      }
      // Dropped (network, server restart, or too slow: 4008): try again, backing off.
      this.onConnection("reconnecting");
      const delay = Math.min(8000, 300 * 2 ** this.retries++);
      this.timer = setTimeout(() => this.open(), delay);
    };
  }

  /** Stop listening (the run goes on: watching never controls it). */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.ws?.close();
  }
}
