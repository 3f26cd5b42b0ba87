/**
 * The log on a NATS server that requires TLS: a private CA and a server certificate made with openssl,
 * a nats-server of our own on a free port. With the CA given, the log works; without it, the server's
 * certificate is refused at start.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config.ts';
import { NatsEventLog, type NatsLogSettings } from '../../src/log/nats/nats-log.ts';
import { tempDir } from '../support/harness.ts';
import { privateNats, privateNatsUnavailable, type PrivateNats } from '../support/nats-server.ts';
import { tempLogKeys } from '../support/nats.ts';

function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=Tessera test CA',
  );
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  // The NATS client names a server it reaches by IP address `localhost` when it checks the certificate.
  fs.writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
  );
  return { ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key') };
}

describe('the NATS log over TLS', () => {
  let server: PrivateNats | undefined;
  let url = '';
  let certs: { ca: string; cert: string; key: string } | undefined;
  let unavailable = '';

  before(async () => {
    unavailable = privateNatsUnavailable();
    if (unavailable) return;
    certs = makeCertificates(tempDir('tessera-nats-tls-'));
    server = await privateNats(['--tls', '--tlscert', certs.cert, '--tlskey', certs.key]);
    await server.start();
    url = `tls://127.0.0.1:${server.port}`;
  });

  after(async () => {
    await server?.stop();
  });

  const settings = (env: Record<string, string>): NatsLogSettings => {
    const log = parseConfig({ TESSERA_LOG_URL: url, TESSERA_NATS_STREAM: 'TLS_TEST', ...env }).log;
    assert.equal(log.kind, 'nats');
    return log as NatsLogSettings;
  };

  it('appends and reads back through a server whose certificate the configured CA signed', async (t) => {
    if (unavailable) return t.skip(unavailable);
    const s = settings({ TESSERA_NATS_TLS_CA: certs!.ca });
    assert.deepEqual(s.tls, { caFile: certs!.ca });
    const keyStore = await tempLogKeys();
    const edge = await NatsEventLog.open(s, { name: 'tls-edge', keys: keyStore.keys });
    const reader = await NatsEventLog.open(s, { name: 'tls-reader', keys: keyStore.keys });
    try {
      const seq = await edge.append({ sourceId: 'src', receivedAt: 1, typeHint: null, shape: 'batch', body: '{"batch":[]}', messages: 0 });
      reader.follow(seq - 1);
      let got: ReturnType<typeof reader.read> = [];
      for (let i = 0; i < 400 && got.length === 0; i++) {
        got = reader.read(seq - 1, 10, 10);
        if (got.length === 0) await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(got[0]?.seq, seq, 'the entry comes back over TLS');
    } finally {
      await reader.close();
      await edge.close();
      await keyStore.close();
    }
  });

  it('refuses, at start, a server whose certificate nothing it trusts signed', async (t) => {
    if (unavailable) return t.skip(unavailable);
    const s = settings({});
    assert.deepEqual(s.tls, {}, 'tls:// alone requires TLS, trusting the system CAs');
    const keyStore = await tempLogKeys();
    await assert.rejects(NatsEventLog.open(s, { name: 'tls-untrusted', keys: keyStore.keys }), /certificate/i);
    await keyStore.close();
  });
});
