/**
 * The network's own certificate authority, for a network run with `roam network up` (on one
 * machine or a private deployment): a CA certificate and key, and certificates it issues to NATS
 * servers and nodes. X.509 encoding is @peculiar/x509's; keys are ECDSA P-256 from WebCrypto
 * (every TLS stack we talk to, Go's for nats-server included, accepts them). A production network
 * may use certificates from any CA instead: nodes only need the CA bundle that verifies them.
 */
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { randomBytes, toHex } from '../crypto/index.js';
import { NetworkError, NetworkErrorCode } from './errors.js';

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Clock skew between machines of a network: certificates are valid from an hour ago. */
const BACKDATE_MS = 60 * 60 * 1000;

/** A certificate and its private key, both PEM. */
export interface CertificateFiles {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CreateAuthorityOptions {
  /** The CA's common name, e.g. "Roam network <chain id> CA". */
  readonly commonName: string;
  readonly validDays?: number;
}

/** What a certificate is for: serving TLS, authenticating as a TLS client, or both (NATS routes). */
export type CertificateUse = 'server' | 'client' | 'server-and-client';

export interface IssueCertificateOptions {
  readonly authority: CertificateFiles;
  readonly commonName: string;
  /** DNS names and IP addresses the certificate is valid for (subjectAltName). */
  readonly hosts: readonly string[];
  readonly use: CertificateUse;
  readonly validDays?: number;
}

/**
 * A new self-signed CA that may only sign end-entity certificates (path length 0).
 *
 * @example
 * const ca = await createCertificateAuthority({ commonName: `Roam ${chainId} CA` });
 * writeFileSync('ca.crt', ca.certPem); writeFileSync('ca.key', ca.keyPem, { mode: 0o600 });
 */
export async function createCertificateAuthority(options: CreateAuthorityOptions): Promise<CertificateFiles> {
  const keys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: distinguishedName(options.commonName),
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + (options.validDays ?? 3650) * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

/**
 * A certificate for `hosts`, signed by `authority`.
 *
 * @throws NetworkError BAD_OPTIONS when no host is given or the authority's files do not parse
 * @example
 * const node = await issueCertificate({ authority: ca, commonName: 'eu node', hosts: ['127.0.0.1', 'localhost'], use: 'server' });
 */
export async function issueCertificate(options: IssueCertificateOptions): Promise<CertificateFiles> {
  if (options.hosts.length === 0) throw new NetworkError(NetworkErrorCode.BAD_OPTIONS, 'a certificate needs at least one host name or address');
  const authority = await loadAuthority(options.authority);
  const keys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const purposes = {
    server: [x509.ExtendedKeyUsage.serverAuth],
    client: [x509.ExtendedKeyUsage.clientAuth],
    'server-and-client': [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
  }[options.use];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: distinguishedName(options.commonName),
    issuer: authority.cert.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + (options.validDays ?? 825) * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: authority.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(purposes, false),
      new x509.SubjectAlternativeNameExtension(
        options.hosts.map((host) => (isIP(host) ? { type: 'ip' as const, value: host } : { type: 'dns' as const, value: host })),
        false,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(authority.cert, false),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

async function loadAuthority(files: CertificateFiles): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  try {
    const cert = new x509.X509Certificate(files.certPem);
    const der = x509.PemConverter.decodeFirst(files.keyPem);
    const key = await crypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign']);
    return { cert, key };
  } catch (error) {
    throw new NetworkError(NetworkErrorCode.BAD_OPTIONS, `the certificate authority's files do not parse: ${(error as Error).message}`, { cause: error });
  }
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** A positive 128-bit serial (the top bit cleared so DER does not read it as negative). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return toHex(bytes);
}

/** `CN=<name>, O=Roam` with the name's DN special characters removed (names come from options). */
function distinguishedName(commonName: string): string {
  return `CN=${commonName.replace(/[,+"\\<>;=#]/g, ' ').trim().slice(0, 64)}, O=Roam`;
}
