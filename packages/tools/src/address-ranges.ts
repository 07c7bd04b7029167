import ipaddr from 'ipaddr.js';
import { ToolRefusedError } from './errors.js';

/** A CIDR range of addresses (`127.0.0.1/32`, `10.0.0.0/8`, `::1/128`), parsed. */
export type AddressRange = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Whether `text` is a CIDR range http.get's configuration can name (`127.0.0.1/32`, `fd00::/8`). */
export const isAddressRange = (text: string): boolean => ipaddr.isValidCIDR(text);

/** Parses CIDR ranges; a malformed one throws a ToolRefusedError naming it (fail closed). */
export function parseAddressRanges(ranges: readonly string[]): AddressRange[] {
  return ranges.map((r) => {
    if (!ipaddr.isValidCIDR(r)) throw new ToolRefusedError(`not a CIDR range: ${r}`);
    return ipaddr.parseCIDR(r);
  });
}

/**
 * Whether http.get may connect to an address. Only public unicast addresses are allowed by default: loopback,
 * private, link-local, unique-local, carrier-grade NAT, unspecified, broadcast, multicast, reserved and the IPv6
 * ranges that embed an IPv4 address (6to4, Teredo, NAT64) are refused unless a range in `allowed` holds the address.
 * An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is judged as the IPv4 address it is.
 */
export function addressAllowed(address: string, allowed: readonly AddressRange[]): boolean {
  if (!ipaddr.isValid(address)) return false;
  const ip = ipaddr.process(address);
  if (ip.range() === 'unicast') return true;
  return allowed.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits));
}

/** Describes an address's range for a refusal (`127.0.0.1 (loopback)`). */
export const describeAddress = (address: string): string =>
  ipaddr.isValid(address) ? `${address} (${ipaddr.process(address).range()})` : address;
