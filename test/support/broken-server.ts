// Tiny local TCP servers that stand in for broken S3 endpoints (ones that never answer, redirect,
// throttle, or answer with a given status), for tests of what the store does with such answers.

import net from 'node:net';

/** A local TCP server standing in for a broken S3 endpoint; closes with every socket it accepted. */
export async function brokenServer(onConnection: (socket: net.Socket) => void): Promise<{ endpoint: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

/** Answers every request once the headers arrived, with `answer(request head)`. */
export function answering(answer: (head: string) => string): (socket: net.Socket) => void {
  return (socket) => {
    let head = '';
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        socket.write(answer(head));
        head = '';
      }
    });
  };
}

/** The XML body of an S3 error: <Code>, `extra` elements, <RequestId>. */
export function s3ErrorXml(code: string, extra = '', requestId = 'R9'): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>m</Message>${extra}<RequestId>${requestId}</RequestId></Error>`;
}

/** An S3 error answer: status line, request id header, XML body with <Code> and `extra` elements. */
export function s3ErrorAnswer(status: number, code: string, extra = '', requestId = 'R9'): string {
  const body = s3ErrorXml(code, extra, requestId);
  return `HTTP/1.1 ${status} X\r\nx-amz-request-id: ${requestId}\r\nContent-Type: application/xml\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}

/** An empty ListObjectsV2 page: what checkAccess wants to see. */
export function emptyListingAnswer(bucket: string): string {
  const body = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${bucket}</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`;
  return `HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}
