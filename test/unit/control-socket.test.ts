import { connect } from 'node:net';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { askDaemon, serveControl } from '../../src/system/control-socket.js';
import { memoryLogger } from '../../src/system/log.js';

const socketIn = () => path.join(mkdtempSync(path.join(tmpdir(), 'peruse-control-')), 'run', 'control.sock');

function rawRequest(socketPath: string, text: string): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const socket = connect(socketPath, () => socket.write(text));
    socket.on('data', (d) => { data += d; });
    socket.on('end', () => resolve(data));
  });
}

describe('the control socket', () => {
  it('answers one JSON request with the handler\'s JSON, and a request that is not JSON with an error', async () => {
    const file = socketIn();
    const server = await serveControl(file, async (request) => ({ echo: request.command }), memoryLogger());
    expect(server).toBeDefined();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await askDaemon(file, { command: 'status' })).toEqual({ echo: 'status' });
    expect(JSON.parse(await rawRequest(file, 'status please\n'))).toEqual({ error: 'the request is not JSON' });
    expect(JSON.parse(await rawRequest(file, '[1]\n'))).toEqual({ error: 'the request must be a JSON object' });
    server!.close();
    expect(await askDaemon(file, { command: 'status' })).toBeUndefined();
  });

  it('a handler that throws gives an error answer, not a dead daemon', async () => {
    const file = socketIn();
    const server = await serveControl(file, async () => { throw new Error('no such thing'); }, memoryLogger());
    expect(await askDaemon(file, { command: 'x' })).toEqual({ error: 'no such thing' });
    expect(await askDaemon(file, { command: 'y' })).toEqual({ error: 'no such thing' });
    server!.close();
  });

  it('a second daemon leaves a live daemon\'s socket alone; a dead one\'s file is replaced', async () => {
    const file = socketIn();
    const first = await serveControl(file, async () => ({ who: 'first' }), memoryLogger());
    const log = memoryLogger();
    expect(await serveControl(file, async () => ({ who: 'second' }), log)).toBeUndefined();
    expect(log.lines.join('\n')).toMatch(/another peruse daemon answers/);
    expect(await askDaemon(file, { command: 'status' })).toEqual({ who: 'first' });
    first!.close();
    writeFileSync(file, 'left behind by a daemon killed with -9');
    const third = await serveControl(file, async () => ({ who: 'third' }), memoryLogger());
    expect(await askDaemon(file, { command: 'status' })).toEqual({ who: 'third' });
    third!.close();
  });
});
