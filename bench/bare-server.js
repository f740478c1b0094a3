#!/usr/bin/env node
// node bench/bare-server.js <express|http> <port>: the bench's baselines — a bare Express 5 app and
// a bare node:http server answering GET /healthz (and /readyz, for waitReady) with the same small
// JSON as AuroraSOC's /healthz. Nothing else: no middleware, no logging. The limit a pipeline can reach.
const http = require('node:http');

const [kind, port] = process.argv.slice(2);
const BODY = JSON.stringify({ status: 'ok' });

function bareHttp() {
  return http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/healthz' || req.url === '/readyz')) {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(BODY) });
      res.end(BODY);
      return;
    }
    res.writeHead(404).end();
  });
}

function bareExpress() {
  const express = require('express');
  const app = express();
  app.get(['/healthz', '/readyz'], (_req, res) => res.json({ status: 'ok' }));
  return http.createServer(app);
}

const server = kind === 'express' ? bareExpress() : kind === 'http' ? bareHttp() : null;
if (!server) {
  process.stderr.write('usage: node bench/bare-server.js <express|http> <port>\n');
  process.exit(2);
}
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
