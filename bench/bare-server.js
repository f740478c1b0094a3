#!/usr/bin/env node
// node bench/bare-server.js <express|http|nest> <port>: the bench's baselines — a bare Express 5 app,
// a bare NestJS app on Express (one controller; what the framework alone costs) and a bare node:http server answering GET /healthz (and /readyz, for waitReady) with the same small
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

/** NestJS on its Express adapter with one controller and nothing else (no body parser, no logger). */
async function bareNest() {
  require('reflect-metadata');
  const { NestFactory } = require('@nestjs/core');
  const { Controller, Get, Module } = require('@nestjs/common');
  class Probes {
    alive() {
      return { status: 'ok' };
    }
    ready() {
      return { status: 'ok' };
    }
  }
  for (const [method, route] of [
    ['alive', 'healthz'],
    ['ready', 'readyz'],
  ]) {
    Get(route)(Probes.prototype, method, Object.getOwnPropertyDescriptor(Probes.prototype, method));
  }
  Controller()(Probes);
  class ProbesModule {}
  Module({ controllers: [Probes] })(ProbesModule);
  const app = await NestFactory.create(ProbesModule, { logger: false, bodyParser: false });
  app.enableShutdownHooks();
  await app.listen(Number(port), '127.0.0.1');
}

if (kind === 'nest') {
  bareNest().catch((error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  });
} else {
  const server = kind === 'express' ? bareExpress() : kind === 'http' ? bareHttp() : null;
  if (!server) {
    process.stderr.write('usage: node bench/bare-server.js <express|http|nest> <port>\n');
    process.exit(2);
  }
  server.listen(Number(port), '127.0.0.1');
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
