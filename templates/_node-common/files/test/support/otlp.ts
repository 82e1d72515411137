// A fake OpenTelemetry collector (OTLP/HTTP) for tests, and just enough of a protobuf
// reader to see what was exported: resource attributes and span names of
// ExportTraceServiceRequest (opentelemetry/proto/collector/trace/v1).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listen } from './harness.ts';

export interface Export {
  path: string;
  contentType: string;
  body: Buffer;
}

export interface Collector {
  url: string;
  exports: Export[];
  close(): Promise<void>;
}

export async function startCollector(): Promise<Collector> {
  const exports: Export[] = [];
  const server: Server = await listen(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    exports.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), body: Buffer.concat(chunks) });
    res.setHeader('content-type', 'application/x-protobuf');
    res.end();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Field = { no: number; bytes?: Buffer; int?: bigint };

/** The fields of one protobuf message (wire format: varint, 64-bit, length-delimited, 32-bit). */
export function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++];
      if (b === undefined) throw new Error('truncated varint');
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const no = key >> 3;
    const type = key & 7;
    if (type === 0) out.push({ no, int: varint() });
    else if (type === 1) i += 8;
    else if (type === 5) i += 4;
    else if (type === 2) {
      const len = Number(varint());
      out.push({ no, bytes: buf.subarray(i, i + len) });
      i += len;
    } else throw new Error(`unsupported wire type ${type}`);
  }
  return out;
}

const sub = (buf: Buffer, no: number): Buffer[] => fields(buf).filter((f) => f.no === no && f.bytes).map((f) => f.bytes!);

/** Resource attributes (string values) and span names of each ResourceSpans in a trace export. */
export function decodeTraceExport(body: Buffer): Array<{ resource: Record<string, string>; spans: string[] }> {
  return sub(body, 1).map((resourceSpans) => {
    const resource: Record<string, string> = {};
    for (const res of sub(resourceSpans, 1)) {
      for (const kv of sub(res, 1)) {
        const key = sub(kv, 1)[0]?.toString('utf8') ?? '';
        const value = sub(kv, 2)[0];
        const str = value ? sub(value, 1)[0] : undefined;
        if (str) resource[key] = str.toString('utf8');
      }
    }
    const spans = sub(resourceSpans, 2).flatMap((scope) => sub(scope, 2).map((span) => sub(span, 5)[0]?.toString('utf8') ?? ''));
    return { resource, spans };
  });
}
