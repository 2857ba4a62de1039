/** Malformed HTTP on a raw socket, which Node's parser refuses before fastify routes it. */
import type { SeededRandom } from './seeded-random.js';
import { httpText, type Mutated, routes, type SignedSpec, wireOf } from './wire.js';

/** HTTP that Node's parser refuses, around a correctly signed transaction that must not get through. */
export function malformedHttp(random: SeededRandom, spec: SignedSpec): Mutated {
  const request = wireOf(spec);
  const body = request.body ?? '';
  const label = (name: string): string => `http:${name}`;
  const variant = random.below(7);
  let raw: string;
  let name: string;
  switch (variant) {
    case 0:
      [name, raw] = [
        'headerWithoutColon',
        httpText(request, [`Content-Length: ${Buffer.byteLength(body)}`, 'Bad Header']),
      ];
      break;
    case 1:
      [name, raw] = [
        'conflictingContentLengths',
        httpText(request, [
          `Content-Length: ${Buffer.byteLength(body)}`,
          `Content-Length: ${Buffer.byteLength(body) + 1}`,
        ]),
      ];
      break;
    case 2:
      [name, raw] = [
        'garbageRequestLine',
        `GARBAGE ${random.next()}\r\n${httpText(request, [`Content-Length: ${Buffer.byteLength(body)}`])
          .split('\r\n')
          .slice(1)
          .join('\r\n')}`,
      ];
      break;
    case 3:
      [name, raw] = ['invalidChunk', httpText(request, ['Transfer-Encoding: chunked'], `zz\r\n${body}\r\n0\r\n\r\n`)];
      break;
    case 4: {
      // Request smuggling: a signed request hidden after a chunked body that also declares a length.
      const smuggled = httpText(request, [`Content-Length: ${Buffer.byteLength(body)}`]);
      [name, raw] = [
        'smuggledRequest',
        httpText(
          { method: 'POST', path: routes.placeOrder.path, headers: [['content-type', 'application/json']] },
          [`Content-Length: ${5 + smuggled.length}`, 'Transfer-Encoding: chunked'],
          `0\r\n\r\n${smuggled}`,
        ),
      ];
      break;
    }
    case 5:
      [name, raw] = [
        'headerOverflow',
        httpText(request, [
          `Content-Length: ${Buffer.byteLength(body)}`,
          `X-Padding: ${'a'.repeat(17_000 + random.below(50_000))}`,
        ]),
      ];
      break;
    default:
      [name, raw] = [
        'nulInHeader',
        httpText(request, [`Content-Length: ${Buffer.byteLength(body)}`, 'X-Note: a\u0000b']),
      ];
      break;
  }
  return { label: label(name), request: { ...request, raw }, malformedHttp: true };
}
