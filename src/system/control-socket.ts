// The daemon's control socket: one JSON request per connection, one JSON answer, then close.
// A Unix socket in a directory only root may enter, itself mode 0600: only root talks to the daemon.
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import path from 'node:path';
import type { Logger } from './log.js';

export const DEFAULT_CONTROL_SOCKET = '/run/peruse/control.sock';
const MAX_REQUEST_BYTES = 64 * 1024;

/** `--socket`, else `$PERUSE_CONTROL_SOCKET`, else /run/peruse/control.sock. */
export function controlSocketPath(explicit?: string): string {
  return explicit ?? process.env.PERUSE_CONTROL_SOCKET ?? DEFAULT_CONTROL_SOCKET;
}

export type ControlRequest = Record<string, unknown> & { command?: unknown };
export type ControlHandler = (request: ControlRequest) => Promise<unknown>;

export interface ControlServer {
  readonly path: string;
  close(): void;
}

/**
 * Listens on `socketPath`. A socket file left by a daemon that died is replaced; one a live daemon
 * answers on is left alone (this daemon then runs without: logged). Never throws.
 */
export async function serveControl(socketPath: string, handler: ControlHandler, log: Logger): Promise<ControlServer | undefined> {
  try {
    mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
    if (existsSync(socketPath)) {
      if ((await askDaemon(socketPath, { command: 'ping' }, 1000)) !== undefined) {
        log.warn(`control: another peruse daemon answers on ${socketPath}; this one runs without a control socket`);
        return undefined;
      }
      unlinkSync(socketPath);
    }
    const server = createServer((socket) => {
      let buffered = '';
      socket.setEncoding('utf8');
      socket.on('error', () => { /* the client went away */ });
      socket.on('data', (chunk: string) => {
        buffered += chunk;
        if (buffered.length > MAX_REQUEST_BYTES) { socket.destroy(); return; }
        const newline = buffered.indexOf('\n');
        if (newline < 0) return;
        socket.removeAllListeners('data');
        answer(buffered.slice(0, newline), handler).then((reply) => socket.end(JSON.stringify(reply) + '\n'));
      });
    });
    await listen(server, socketPath);
    chmodSync(socketPath, 0o600);
    log.info(`control socket on ${socketPath}`);
    return {
      path: socketPath,
      close() {
        server.close();
        try { unlinkSync(socketPath); } catch { /* already gone */ }
      },
    };
  } catch (error) {
    log.warn(`control: cannot listen on ${socketPath}: ${(error as Error).message}; peruse status will not reach this daemon`);
    return undefined;
  }
}

async function answer(line: string, handler: ControlHandler): Promise<unknown> {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch {
    return { error: 'the request is not JSON' };
  }
  if (!request || typeof request !== 'object' || Array.isArray(request)) return { error: 'the request must be a JSON object' };
  try {
    return await handler(request as ControlRequest);
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function listen(server: Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => { server.off('error', reject); resolve(); });
  });
}

/** Sends one request; the answer, or undefined when no daemon listens there. Throws on a daemon that does not answer in time. */
export function askDaemon(socketPath: string, request: ControlRequest, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let data = '';
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`the daemon on ${socketPath} did not answer within ${timeoutMs / 1000} s`)); }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('data', (chunk: string) => { data += chunk; });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(data));
      } catch {
        reject(new Error(`the daemon on ${socketPath} answered something that is not JSON`));
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') resolve(undefined);
      else reject(error);
    });
  });
}
