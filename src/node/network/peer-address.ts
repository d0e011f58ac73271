/**
 * Which addresses a node may connect to when it calls a peer URL taken from the ledger. Any
 * member can register any URL, so without this check one member could point every node's
 * catch-up and roaming at an address inside the other members' networks (a cloud metadata
 * service at 169.254.169.254, an admin port on loopback). Only global unicast addresses pass,
 * unless the node's configuration allows private ones (a network on one machine or one LAN).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * The reason `address` (an IPv4 or IPv6 literal) may not be connected to, or undefined when it
 * is a global unicast address. IPv4-mapped IPv6 addresses are judged as the IPv4 address they
 * carry; anything ipaddr.js does not call `unicast` (private, loopback, link-local, unique-local,
 * unspecified, carrier-grade NAT, multicast, reserved, 6to4/Teredo tunnels…) is refused.
 */
export function refusedAddressReason(address: string): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address);
  } catch {
    return `${address.slice(0, 64)} is not an IP address`;
  }
  const range = parsed.range();
  return range === 'unicast' ? undefined : `${parsed.toString()} is a ${range} address`;
}

/** An error a connect attempt fails with when the peer's address is refused. */
export class PeerAddressRefused extends Error {
  override readonly name = 'PeerAddressRefused';
  readonly code = 'PEER_ADDRESS_REFUSED';
}

/**
 * A `net.connect` lookup that resolves like `dns.lookup` and then refuses the connection when ANY
 * resolved address is refused: the check happens on the addresses the socket will really use, at
 * connect time, so a name that resolves to a public address when checked and to a private one
 * when connected (DNS rebinding) is refused too.
 */
export const checkedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true } as LookupAllOptions, (error, addresses: LookupAddress[]) => {
    if (error) {
      callback(error, '', 0);
      return;
    }
    const refused = addresses.map((a) => refusedAddressReason(a.address)).find((r) => r !== undefined);
    if (refused !== undefined || addresses.length === 0) {
      const reason = refused ?? 'no address';
      callback(new PeerAddressRefused(`${hostname.slice(0, 100)} resolves to a refused address: ${reason}`), '', 0);
      return;
    }
    if ((options as { all?: boolean }).all === true) {
      (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, addresses);
      return;
    }
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
};

/** The reason a host that is an IP literal (brackets allowed) is refused; undefined for names. */
export function refusedLiteralReason(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) === 0 ? undefined : refusedAddressReason(bare);
}
