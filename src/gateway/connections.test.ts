import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/wait.js';
import { Connections } from './connections.js';

/** A raw client socket, with what it has received so far and whether it has closed. */
async function rawClient(port: number): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  let closed = false;
  socket.on('data', (d) => (text += d.toString()));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  return { socket, received: () => text, closed: () => closed };
}

const request = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';

describe('Connections (a stop that cuts no client who already connected)', () => {
  it('closes keep-alive connections idle after a request, answers one that connected but had not sent its request, and closes a silent one after the grace', async () => {
    let accepted = 0;
    let draining = false;
    const server = createServer((_req, res) => {
      res.shouldKeepAlive = !draining; // a draining gateway's answers close their connections
      res.end('ok');
    });
    server.on('connection', () => accepted++);
    const connections = new Connections(server, false);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;

    const idle = await rawClient(port);
    idle.socket.write(request);
    await waitFor(() => idle.received().includes('ok'), 'the keep-alive answer');
    const late = await rawClient(port);
    const silent = await rawClient(port);
    await waitFor(() => accepted === 3, 'the server to accept the three connections');

    let stopped = false;
    Connections.stopListening(server, () => (stopped = true));
    draining = true;
    connections.closeIdle();
    const settling = connections.settleFresh(1000);
    await waitFor(() => idle.closed(), 'the idle keep-alive connection to close');
    expect(late.closed()).toBe(false);
    late.socket.write(request); // sent after the stop began: answered, not reset
    await waitFor(() => late.received().includes('ok'), "the late client's answer");
    expect(late.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(late.received()).toMatch(/connection: close/i);
    expect(silent.closed()).toBe(false);
    await settling; // the silent one was waited for up to the grace, then closed
    await waitFor(() => silent.closed(), 'the silent connection to close');
    late.socket.destroy();
    await waitFor(() => stopped, 'the server to stop once every connection ended');
  });
});
