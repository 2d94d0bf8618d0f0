/**
 * Format 2 of the shuffle (shared/dag/shuffle-format.ts): an envelope without the correlation id its
 * position already says.
 *
 * A stage's envelopes carry the correlation id of the input record they came from,
 * `<stream>/<shard>/<sequence number>`, extended by `:<sub>` for a KPL user record and `/i` per
 * flatMap (records.ts), and their position in the channel is `<sequence number>[:<index>]` of the
 * same input record (shuffle-pack.ts). So the id is `<prefix><sequence of the position><suffix>`,
 * with one prefix for the whole pack (the producer's input stream and shard): the pack carries the
 * prefix once (`"ip"`), and an envelope only its suffix (`"i"`), when it has one. An envelope whose id
 * is not of that form (a stateful stage's result, a record that came from another shuffle) keeps its
 * `"id"`. Whichever format carried it, the consumer rebuilds the same id, character for character:
 * join buffers, result ids and dead letters cannot tell the formats apart.
 *
 * Both sides work on the envelope's JSON text as the writer made it (`{"id":"...",` first), without a
 * parse: this runs once per envelope on the shuffle's hot path.
 */

const ID_FIELD = '{"id":"';
const COMMA = 0x2c;
const BACKSLASH = '\\';

/** The input record's sequence number in a position: what comes before its `:<index>`. */
export function sequenceOfPosition(position: string): string {
  const colon = position.indexOf(':');
  return colon === -1 ? position : position.slice(0, colon);
}

/**
 * The id written first in an envelope's JSON, and where its field ends (the index of the `,` or `}`
 * after it); undefined when the envelope does not start with its id or the id holds escapes.
 */
function leadingId(data: string): { readonly id: string; readonly end: number } | undefined {
  if (!data.startsWith(ID_FIELD)) return undefined;
  const close = data.indexOf('"', ID_FIELD.length);
  if (close === -1) return undefined;
  const id = data.slice(ID_FIELD.length, close);
  // An escape would make the text differ from the id (and could hide the closing quote).
  if (id.includes(BACKSLASH)) return undefined;
  return { id, end: close + 1 };
}

/**
 * The prefix to write once in a pack whose first envelopes are these: the part of the first one's id
 * before its position's sequence number; undefined when no envelope's id holds its sequence number.
 */
export function idPrefixOf(data: readonly string[], positions: readonly string[]): string | undefined {
  for (let i = 0; i < data.length; i += 1) {
    const found = leadingId(data[i] as string);
    if (found === undefined) continue;
    const at = found.id.indexOf(sequenceOfPosition(positions[i] as string));
    if (at > 0) return found.id.slice(0, at);
  }
  return undefined;
}

/**
 * An envelope's JSON in format 2: without `"id"` when the pack's prefix and its position say it,
 * with `"i"` for what they do not (a suffix); else as it was.
 */
export function leanEnvelope(data: string, position: string, prefix: string | undefined): string {
  if (prefix === undefined) return data;
  const found = leadingId(data);
  if (found === undefined || data.charCodeAt(found.end) !== COMMA) return data;
  const { id } = found;
  const sequence = sequenceOfPosition(position);
  if (!id.startsWith(prefix) || !id.startsWith(sequence, prefix.length)) return data;
  const suffix = id.slice(prefix.length + sequence.length);
  // `{` then the fields after the id, its comma dropped.
  if (suffix.length === 0) return `{${data.slice(found.end + 1)}`;
  return `{"i":"${suffix}"${data.slice(found.end)}`;
}

/** The id of a format-2 envelope that has none of its own: the pack's prefix, its position's sequence, its suffix. */
export function idOfLean(prefix: string, position: string, suffix: string | undefined): string {
  return `${prefix}${sequenceOfPosition(position)}${suffix ?? ''}`;
}
