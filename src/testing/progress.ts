// A one-line progress bar on stderr for long reads on a terminal; silent for short runs and pipes.
export interface Progress {
  /** Entries so far, and bytes read of `total` when the size is known. */
  update(entries: number, bytes?: number): void;
  done(): void;
}

const SHOW_AFTER_MS = 2000;
const REDRAW_MS = 200;

export function progressBar(stream: NodeJS.WriteStream, total: number | undefined, enabled = stream.isTTY === true): Progress {
  if (!enabled) return { update() {}, done() {} };
  const started = Date.now();
  let entries = 0, bytes = 0, shown = false;
  const draw = () => {
    if (Date.now() - started < SHOW_AFTER_MS) return;
    shown = true;
    const rate = Math.round(entries / ((Date.now() - started) / 1000));
    let line = `${entries.toLocaleString('en')} entries, ${rate.toLocaleString('en')}/s`;
    if (total && total > 0) {
      const share = Math.min(1, bytes / total);
      const width = 30;
      const full = Math.round(share * width);
      line = `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(share * 100).toFixed(0).padStart(3)}%  ${line}`;
    }
    stream.write(`\r${line}\x1b[K`);
  };
  const timer = setInterval(draw, REDRAW_MS);
  timer.unref();
  return {
    update(n, b) { entries = n; if (b !== undefined) bytes = b; },
    done() {
      clearInterval(timer);
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
